// Issue 13, "the digest fallback when the native addon cannot load", end to end: a take whose
// BLAKE3 addon is refused (CKPT_DIGEST_IMPL=wasm, or a require hook that throws) says so once,
// reports digestImplementation "wasm", and computes the same blob ids: a reread stores nothing new.
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {checkTaken, format2Job, restoreAndCheck, KiB, MiB} from '../helpers/format2-e2e.js'
import {seedState, seeded} from '../helpers/format2-changes.js'
import {fileKind} from '../helpers/primaries.js'

// Loaded with --require: any require of the addon throws, as a missing or broken binary would.
const HOOK = `const Module = require('node:module')
const load = Module._load
Module._load = function (request, ...rest) {
  if (String(request).includes('@napi-rs/blake-hash')) throw new Error('simulated: the addon cannot load')
  return load.call(this, request, ...rest)
}
`

describe('format-2 digest fallback (file store)', () => {
  it('a take without the native addon says so once, reports wasm, and finds the same blob ids', async () => {
    const job = await format2Job(fileKind)
    try {
      for (const t of job.tasks) await seedState(job.state(t), seeded(1100), {bigBytes: 2 * MiB})
      const first = await job.take()
      assert.equal(first.digestImplementation, 'native')
      const hook = path.join(job.dir, 'no-addon.cjs')
      await fs.writeFile(hook, HOOK)
      const runs: {env: Record<string, string>; why: RegExp}[] = [
        {env: {CKPT_DIGEST_IMPL: 'wasm'}, why: /CKPT_DIGEST_IMPL=wasm/},
        {env: {NODE_OPTIONS: `--require ${hook}`}, why: /simulated: the addon cannot load/},
      ]
      for (const {env, why} of runs) {
        const digests = await job.digests()
        const take = await job.ckpt(['checkpoint', 'take', '--reread'], env)
        assert.equal(take.code, 0, `${take.stdout}${take.stderr}`)
        assert.equal(take.json.digestImplementation, 'wasm')
        const notes = take.stderr.split('\n').filter((l) => l.includes('BLAKE3 native addon unavailable'))
        assert.equal(notes.length, 1, `the note is printed once: ${take.stderr}`)
        assert.match(notes[0], why)
        assert.ok(take.json.uploadedBytes < 64 * KiB, `the same content gives the same blob ids: nothing new is stored (${take.json.uploadedBytes} bytes)`)
        await checkTaken(job, take.json.checkpointId, digests)
        await restoreAndCheck(job, take.json.checkpointId, digests, 'remote')
      }
    } finally {
      await job.cleanup()
    }
  })
})
