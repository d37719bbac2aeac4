#!/usr/bin/env node
import {readFileSync} from 'node:fs'
import {createRequire} from 'node:module'

// `ckpt --version` is answered without loading oclif (a third of start-up), in oclif's words.
const argv = process.argv.slice(2)
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
  const {version} = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  process.stdout.write(`ckpt/${version} ${process.platform}-${process.arch} node-${process.version}\n`)
} else {
  // More libuv threads than the default 4: takes and restores keep many file operations in
  // flight, and their cost is disk latency, not CPU. Set before anything uses the thread pool.
  process.env.UV_THREADPOOL_SIZE ??= '16'
  // dist/index.js is the whole CLI in one CommonJS bundle (scripts/bundle.mjs); require is the
  // cheap way in, and oclif then finds its commands in the same, already loaded, module.
  const {execute} = createRequire(import.meta.url)('../dist/index.js')
  await execute({dir: import.meta.url})
}
