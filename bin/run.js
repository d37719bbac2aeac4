#!/usr/bin/env node
// CommonJS (bin/package.json), like the bundle: an ES module entry costs ~3 ms more at start-up.
const path = require('node:path')

// `ckpt --version` is answered without loading oclif (a third of start-up), in oclif's words.
const argv = process.argv.slice(2)
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
  const {version} = require('../package.json')
  process.stdout.write(`ckpt/${version} ${process.platform}-${process.arch} node-${process.version}\n`)
} else {
  // More libuv threads than the default 4: takes and restores keep many file operations in
  // flight, and their cost is disk latency, not CPU. Set before anything uses the thread pool.
  process.env.UV_THREADPOOL_SIZE ??= '16'
  // dist/index.js is the whole CLI in one bundle (scripts/bundle.mjs); oclif then finds its
  // commands in the same, already loaded, module. oclif is given the package folder, since from
  // this file it would stop at bin/package.json.
  require('../dist/index.js').execute({dir: path.join(__dirname, '..')})
}
