#!/usr/bin/env node
// CommonJS (bin/package.json), like the bundle: an ES module entry costs ~3 ms more at start-up.
const path = require('node:path')

// `ckpt --version` is answered without loading oclif (a third of start-up), in oclif's words,
// and `ckpt --version --json` as one JSON document, as every other --json.
const argv = process.argv.slice(2)
const version = argv.length > 0 && (argv[0] === '--version' || argv[0] === '-v') && argv.slice(1).every((a) => a === '--json')
if (version) {
  const {name, version} = require('../package.json')
  const platform = `${process.platform}-${process.arch}`
  if (argv.includes('--json')) process.stdout.write(JSON.stringify({name, version, platform, node: process.version}, null, 2) + '\n')
  else process.stdout.write(`ckpt/${version} ${platform} node-${process.version}\n`)
} else {
  // More libuv threads than the default 4: takes and restores keep many file operations in
  // flight, and their cost is disk latency, not CPU. Set before anything uses the thread pool.
  process.env.UV_THREADPOOL_SIZE ??= '16'
  // dist/index.js is the whole CLI in one bundle (scripts/bundle.mjs); oclif then finds its
  // commands in the same, already loaded, module. oclif is given the package folder, since from
  // this file it would stop at bin/package.json.
  require('../dist/index.js').execute({dir: path.join(__dirname, '..')})
}
