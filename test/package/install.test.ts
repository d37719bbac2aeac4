// The published package (issue 15 item 5): `npm pack`, then `npm install -g` of the tarball into a
// temporary prefix, then the installed `ckpt` from another folder. It measures the installed size
// (the bundle holds the CLI and the Azure SDK, so node_modules holds only oclif's plugins and
// cli-table3) and checks that the package ships a LICENSE and no development entry point.
// npm runs --prefer-offline: its cache (filled by `npm ci`) serves every tarball; a dependency's
// metadata, which `npm ci` does not fetch, comes from the registry `npm ci` used when the cache lacks it.
import assert from 'node:assert/strict'
import {execFileSync, spawnSync} from 'node:child_process'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {cliEnv, repoRoot} from '../helpers/cli.js'
import {tempDir} from '../helpers/primaries.js'

/** Installed size limit: 44 MB before (35 MB of it an Azure SDK the bundle already holds). */
const MAX_INSTALLED_BYTES = 15 << 20

async function treeBytes(dir: string): Promise<number> {
  let sum = 0
  for (const entry of await fs.readdir(dir, {withFileTypes: true, recursive: true})) {
    if (entry.isFile()) sum += (await fs.stat(path.join(entry.parentPath, entry.name))).size
  }
  return sum
}

describe('the published package', {timeout: 300_000}, () => {
  it('installs from its tarball with only what runs, ships a LICENSE, and runs from another folder', async () => {
    const {dir, cleanup} = await tempDir('ckpt-pack-')
    try {
      // --ignore-scripts: pack the dist/ that `npm run build` made (rebuilding it would race the other tests).
      const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], {cwd: repoRoot, encoding: 'utf8'}))[0]
      const files = packed.files.map((f: {path: string}) => f.path).sort()
      for (const wanted of ['LICENSE', 'README.md', 'bin/run.js', 'dist/index.js', 'dist/azure-sdk.js', 'oclif.manifest.json', 'package.json'])
        assert.ok(files.includes(wanted), `${wanted} is in the package: ${files.join(', ')}`)
      assert.deepEqual(
        files.filter((f: string) => /^(src|test|bench|scripts|examples)\/|^bin\/dev\.js$/.test(f)),
        [],
        'no sources, tests or development entry point',
      )
      assert.match(await fs.readFile(path.join(repoRoot, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0/)

      const prefix = path.join(dir, 'prefix')
      const install = spawnSync('npm', ['install', '-g', '--prefer-offline', '--no-audit', '--no-fund', '--prefix', prefix, path.join(dir, packed.filename)], {
        cwd: dir,
        encoding: 'utf8',
        env: cliEnv(),
      })
      assert.equal(install.status, 0, install.stderr)
      assert.doesNotMatch(install.stderr, /warn/i, 'npm warns about nothing')
      const installed = await treeBytes(path.join(prefix, 'lib', 'node_modules'))
      process.stderr.write(`installed size: ${(installed / (1 << 20)).toFixed(1)} MiB\n`)
      assert.ok(installed < MAX_INSTALLED_BYTES, `installed size ${installed} bytes is over ${MAX_INSTALLED_BYTES}`)
      const deps = await fs.readdir(path.join(prefix, 'lib', 'node_modules', 'ckpt', 'node_modules', '@azure')).catch(() => [])
      assert.deepEqual(deps, [], 'no Azure SDK in node_modules: the bundle holds it')

      const elsewhere = path.join(dir, 'elsewhere')
      await fs.mkdir(elsewhere)
      const ckpt = (args: string[], env: Record<string, string> = {}) =>
        spawnSync(path.join(prefix, 'bin', 'ckpt'), args, {cwd: elsewhere, encoding: 'utf8', env: cliEnv({PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, ...env})})
      const help = ckpt(['--help'])
      assert.equal(help.status, 0, help.stderr)
      assert.match(help.stdout, /checkpoint/)
      assert.equal(ckpt(['init']).status, 0)
      const take = ckpt(['checkpoint', 'take', '--json'])
      assert.equal(take.status, 0, take.stderr)
      assert.equal(JSON.parse(take.stdout).status, 'completed')
      // The Azure SDK loads from the bundle: an unreachable account is exit 5, not a missing module.
      const azure = ckpt(['checkpoint', 'list', '--primary', 'azure://box', '--json'], {
        AZURE_STORAGE_CONNECTION_STRING: 'DefaultEndpointsProtocol=http;AccountName=a;AccountKey=YQ==;BlobEndpoint=http://127.0.0.1:9/a;',
      })
      assert.equal(azure.status, 5, azure.stdout + azure.stderr)
    } finally {
      await cleanup()
    }
  })
})
