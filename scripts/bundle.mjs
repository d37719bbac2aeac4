// Bundles the CLI (src/index.ts: every command, the core and @oclif/core) into one CommonJS file,
// DIST/index.js (default dist/), and the Azure SDK, which it requires only for azure:// stores,
// into DIST/azure-sdk.js. Start-up then reads and compiles one file instead of ~200 modules;
// CommonJS because an ES module bundle costs more at start (the ESM loader, and the ESM facade
// of every Node built-in it imports). Usage: node scripts/bundle.mjs [DIST]
import {mkdirSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'
import * as esbuild from 'esbuild'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dist = path.resolve(process.argv[2] ?? path.join(root, 'dist'))

const common = {bundle: true, platform: 'node', format: 'cjs', target: 'node20', absWorkingDir: root, logLevel: 'warning'}

await esbuild.build({
  ...common,
  entryPoints: [path.join(root, 'src', 'index.ts')],
  outfile: path.join(dist, 'index.js'),
  // TypeScript is asked for by oclif only in development mode; the not-found plugin is imported
  // from node_modules on a mistyped command only (src/cli/main.ts).
  external: ['typescript', '@oclif/plugin-not-found', '@oclif/plugin-autocomplete', '@napi-rs/*', 'hash-wasm'],
  // The Azure SDK is required only for azure:// stores, from its own bundle (below).
  // prom-client (with its optional OpenTelemetry API) only for `run --metrics-*`, from its own bundle too.
  plugins: [
    {name: 'azure-sdk', setup: (build) => build.onResolve({filter: /^@azure\/storage-blob$/}, () => ({path: './azure-sdk.js', external: true}))},
    {name: 'prom-client', setup: (build) => build.onResolve({filter: /^prom-client$/}, () => ({path: './prom-client.js', external: true}))},
  ],
  // src/ is ES modules; the one use of import.meta (render.ts's createRequire) gets this file's URL.
  define: {'import.meta.url': '__bundleUrl'},
  banner: {js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;"},
})

// The Azure SDK in one file too: it loads in ~65 ms instead of ~140 ms from its ~270 modules.
await esbuild.build({
  ...common,
  stdin: {contents: "module.exports = require('@azure/storage-blob')", resolveDir: root, sourcefile: 'azure-sdk.js'},
  outfile: path.join(dist, 'azure-sdk.js'),
})

// prom-client in a file of its own: ~230 KB that every start would otherwise parse.
await esbuild.build({
  ...common,
  stdin: {contents: "module.exports = require('prom-client')", resolveDir: root, sourcefile: 'prom-client.js'},
  outfile: path.join(dist, 'prom-client.js'),
})

// Our error classes name themselves after new.target.name (src/core/errors.ts). esbuild's keepNames
// would protect that but costs ~2 ms at every start, so check instead that no error class was
// renamed (Foo2 when two modules share a name, class _Foo when it refers to itself).
const bundle = readFileSync(path.join(dist, 'index.js'), 'utf8')
for (const file of readdirSync(path.join(root, 'src'), {recursive: true}).filter((f) => f.endsWith('.ts'))) {
  for (const [, name] of readFileSync(path.join(root, 'src', file), 'utf8').matchAll(/\bclass (\w+) extends \w*Error\b/g)) {
    const inBundle = new RegExp(`\\b${name}\\d*\\b`).test(bundle) // else unused, and left out
    if (inBundle && !new RegExp(`\\b${name} = class extends\\b|\\bclass ${name} extends\\b`).test(bundle)) {
      throw new Error(`bundle: error class ${name} (src/${file}) would not keep its name; rename it or turn on keepNames`)
    }
  }
}
mkdirSync(dist, {recursive: true})
// The package is "type": "module"; this marks dist/ as CommonJS for Node and for oclif.
writeFileSync(path.join(dist, 'package.json'), '{"type": "commonjs"}\n')
