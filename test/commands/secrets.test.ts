// Secrets never reach output (DESIGN.md invariant 9): account keys, SAS signatures and connection
// strings are searched for in stdout and stderr (with DEBUG stacks) of every command, on success
// and on every failure path.
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {runCli} from '../helpers/cli.js'
import {AZURITE_KEY} from '../helpers/azurite.js'
import {writeJob, makeTree} from '../helpers/job.js'
import {azureKind, tempDir} from '../helpers/primaries.js'
import {mapLimit} from '../../src/core/util/pool.js'

// A wrong key that is easy to search for (valid base64 of the right length).
const WRONG_KEY = Buffer.from('SEARCHABLE-SECRET-KEY-0123456789'.repeat(2)).toString('base64')

const COMMANDS: string[][] = [
  ['checkpoint', 'take'],
  ['checkpoint', 'list'],
  ['checkpoint', 'show', 'latest'],
  ['checkpoint', 'verify', '--read-data'],
  ['checkpoint', 'prune', '--dry-run'],
  ['local', 'list'],
  ['local', 'prune', '--dry-run'],
  ['restore', '--plan'],
  ['restore', '--prefer', 'remote'],
  ['unlock'],
  ['status'],
  ['run', '--duration', '1s', '--interval', '300ms'],
]

describe('secrets stay out of output', () => {
  before(() => azureKind.setup())
  after(() => azureKind.teardown())

  it('never prints an account key, a SAS signature or a connection string', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const target = await azureKind.fresh(dir)
      await writeJob(dir, {tasks: [{id: 'alpha', command: ['sleep', '30']}], primary: target.url})
      await makeTree(path.join(dir, 'state', 'alpha'))
      const server = azureKind.server()
      const good = target.env.AZURE_STORAGE_CONNECTION_STRING
      const bad = good.replace(AZURITE_KEY, WRONG_KEY)
      const unreachable = good.replace(/127\.0\.0\.1:\d+/, '127.0.0.1:9')
      const {container, prefix} = azureKind.containerOf(target)
      const fullSas = await server.sasUrl(container, {permissions: 'racwdl', prefix})
      const readOnlySas = await server.sasUrl(container, {permissions: 'rl', prefix})
      const expiredSas = await server.sasUrl(container, {permissions: 'racwdl', prefix, expiresOn: new Date(Date.now() - 3600_000)})
      const signatures = [fullSas, readOnlySas, expiredSas].map((u) => decodeURIComponent(new URL(u).searchParams.get('sig')!))
      assert.equal((await runCli(['checkpoint', 'take', '--json'], {cwd: dir, env: target.env})).code, 0)

      const setups: Array<{name: string; env: Record<string, string>; primary?: string; ok: boolean}> = [
        {name: 'connection string', env: {AZURE_STORAGE_CONNECTION_STRING: good}, ok: true},
        {name: 'wrong key', env: {AZURE_STORAGE_CONNECTION_STRING: bad}, ok: false},
        {name: 'unreachable endpoint', env: {AZURE_STORAGE_CONNECTION_STRING: unreachable}, ok: false},
        {name: 'SAS URL', env: {}, primary: fullSas, ok: true},
        {name: 'read-only SAS URL', env: {}, primary: readOnlySas, ok: false},
        {name: 'expired SAS URL', env: {}, primary: expiredSas, ok: false},
      ]
      const forbidden = [AZURITE_KEY, WRONG_KEY, 'SEARCHABLE-SECRET', good, bad, ...signatures, encodeURIComponent(signatures[0])]
      const human = new Set(['wrong key'])
      const runs = setups.flatMap((setup) => COMMANDS.flatMap((command) => (human.has(setup.name) ? [[...command, '--json'], command] : [[...command, '--json']]).map((args) => ({setup, args}))))
      const results = await mapLimit(runs, 4, async ({setup, args}) => {
        const full = setup.primary ? [...args, '--primary', setup.primary] : args
        const result = await runCli(full, {cwd: dir, env: {...setup.env, DEBUG: 'ckpt*'}, timeoutMs: 60_000})
        return {setup, args, result}
      })
      let failures = 0
      for (const {setup, args, result} of results) {
        const output = result.stdout + result.stderr
        for (const secret of forbidden) assert.ok(!output.includes(secret), `${setup.name}: ckpt ${args.join(' ')} printed a secret:\n${output}`)
        if (result.code !== 0) failures++
        if (!setup.ok && args.includes('--json') && result.code !== 0) assert.ok(result.json?.error?.message, `${setup.name}: ${args.join(' ')} gives a JSON error`)
      }
      const exits = (name: string) => results.filter((r) => r.setup.name === name && r.args[0] === 'checkpoint' && r.args[1] === 'list').map((r) => r.result.code)
      assert.deepEqual(exits('wrong key'), [5, 5])
      assert.deepEqual(exits('unreachable endpoint'), [5])
      assert.deepEqual(exits('expired SAS URL'), [5])
      assert.ok(failures > 0, 'the failure paths were exercised')
      await fs.rm(dir, {recursive: true, force: true})
    } finally {
      await cleanup()
    }
  })
})
