import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import * as path from 'node:path'
import {test} from 'node:test'
import {digestHex, digestImplementation, digestReady, fallbackNote, newDigester} from '../../../src/core/util/digest.js'

// BLAKE3 test vector: the digest of "abc".
const ABC = '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85'
const root = path.resolve(import.meta.dirname, '../../..')

/** Digests of a fixed buffer computed in a child process, with its environment and an optional preload. */
function digestsInChild(env: NodeJS.ProcessEnv, preload?: string): {one: string; streamed: string; impl: string; note: string | null} {
  const script = `
    import {digestHex, digestImplementation, digestReady, fallbackNote, newDigester} from ${JSON.stringify(path.join(root, 'src/core/util/digest.ts'))}
    await digestReady('blake3')
    const data = Buffer.alloc(3 << 20, 7)
    const streamed = newDigester('blake3').update(data.subarray(0, 1 << 20)).update(data.subarray(1 << 20)).hex()
    console.log(JSON.stringify({one: digestHex(data, 'blake3'), streamed, impl: digestImplementation('blake3'), note: fallbackNote() ?? null}))
  `
  const args = ['--import', 'tsx', ...(preload ? ['--require', preload] : []), '--input-type=module', '-e', script]
  return JSON.parse(execFileSync(process.execPath, args, {cwd: root, env: {...process.env, ...env}, encoding: 'utf8'}))
}

test('BLAKE3 gives the reference digest, one-shot and streamed, and SHA-256 stays available', async () => {
  await digestReady('blake3')
  assert.equal(digestHex(Buffer.from('abc'), 'blake3'), ABC)
  assert.equal(newDigester('blake3').update(Buffer.from('a')).update(Buffer.from('bc')).hex(), ABC)
  assert.equal(digestHex(Buffer.from('abc'), 'sha256'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  assert.equal(digestImplementation('blake3'), 'native')
  assert.equal(fallbackNote(), undefined)
})

test('without the native addon BLAKE3 runs on WebAssembly with the same digests and says so once', () => {
  const native = digestsInChild({})
  assert.equal(native.impl, 'native')
  const forced = digestsInChild({CKPT_DIGEST_IMPL: 'wasm'})
  assert.equal(forced.impl, 'wasm')
  assert.match(forced.note!, /BLAKE3 native addon unavailable \(CKPT_DIGEST_IMPL=wasm\)/)
  // An addon that cannot load: a require hook makes it throw as a missing binary would.
  const dir = mkdtempSync(path.join(tmpdir(), 'ckpt-digest-'))
  const hook = path.join(dir, 'break-addon.cjs')
  writeFileSync(
    hook,
    `const Module = require('node:module'); const load = Module._load
     Module._load = function (request, ...rest) {
       if (String(request).includes('blake-hash')) throw new Error('Cannot find native binding (test)')
       return load.call(this, request, ...rest)
     }`,
  )
  const broken = digestsInChild({}, hook)
  assert.equal(broken.impl, 'wasm')
  assert.match(broken.note!, /Cannot find native binding \(test\)/)
  for (const run of [forced, broken]) {
    assert.equal(run.one, native.one)
    assert.equal(run.streamed, native.one)
  }
  assert.notEqual(native.one, digestHex(randomBytes(8), 'blake3'))
})
