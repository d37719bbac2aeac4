// A restore checks the files it keeps or copies blob by blob: on the hash workers when it has
// enough big files to pay for their start, else on its own thread, with the same verdicts.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import type {BlobRef, EntryV2} from '../../../src/core/format/index2.js'
import {blobsMatching, hashWorkersPay} from '../../../src/core/restore/in-place.js'
import {digestHex, digestReady, nativeModulePath, type DigestAlgorithm} from '../../../src/core/util/digest.js'
import {tempDir} from '../../helpers/primaries.js'

const MiB = 1 << 20

function entryOf(data: Buffer, digest: DigestAlgorithm, chunk = MiB): EntryV2 {
  const blobs: BlobRef[] = []
  for (let at = 0; at < data.length; at += chunk) blobs.push([0, 0, Math.min(chunk, data.length - at), digestHex(data.subarray(at, at + chunk), digest)])
  return {path: 'f', type: 'file', mode: 0o644, size: data.length, mtimeMs: 0, blobs}
}

const sized = (size: number): EntryV2 => ({path: 'f', type: 'file', mode: 0o644, size, mtimeMs: 0})

describe('blob checks of a restore', () => {
  it('start the hash workers only for 64 MiB or more of files over 64 KiB', async () => {
    await digestReady('blake3')
    assert.equal(hashWorkersPay([sized(MiB)], 'sha256'), false, 'one small state')
    assert.equal(
      hashWorkersPay(
        Array.from({length: 2000}, () => sized(64 << 10)),
        'sha256',
      ),
      false,
      '125 MiB of small files is read whole, on this thread',
    )
    assert.equal(hashWorkersPay([sized(40 * MiB), sized(24 * MiB)], 'sha256'), true)
    assert.equal(hashWorkersPay([sized(64 * MiB)], 'blake3'), nativeModulePath !== undefined, 'BLAKE3 on workers only through the native addon')
  })

  for (const digest of ['blake3', 'sha256'] as DigestAlgorithm[])
    it(`give the same verdict per blob on the workers and on this thread (${digest})`, async () => {
      await digestReady(digest)
      const {dir, cleanup} = await tempDir()
      try {
        const data = randomBytes(3 * MiB + 77)
        const entry = entryOf(data, digest)
        const file = path.join(dir, 'f')
        const flipped = Buffer.from(data)
        flipped[MiB + 5] ^= 0xff
        await fs.writeFile(file, flipped)
        const expected = [true, false, true, true]
        assert.deepEqual(await blobsMatching(file, entry, digest, true), expected, 'workers')
        assert.deepEqual(await blobsMatching(file, entry, digest, false), expected, 'this thread')
        await fs.truncate(file, 2 * MiB)
        for (const workers of [true, false]) assert.deepEqual(await blobsMatching(file, entry, digest, workers), [true, false, false, false], `cut short, workers ${workers}`)
        await fs.rm(file)
        for (const workers of [true, false]) assert.deepEqual(await blobsMatching(file, entry, digest, workers), [false, false, false, false], `gone, workers ${workers}`)
      } finally {
        await cleanup()
      }
    })
})
