// Reading blobs out of packs: which needs share a range read, that each blob is checked, and that a
// short pack is reported; with an in-memory pack as the reader.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {MAX_GAP, MAX_RANGE, planRanges, readBlobs, type BlobNeed} from '../../../src/core/archive/pack-reader.js'
import {digestHex, digestReady} from '../../../src/core/util/digest.js'
import {PrimaryDigestError} from '../../../src/core/errors.js'

const need = (packId: string, offset: number, length: number): BlobNeed<number> => ({packId, offset, length, blobId: '', tag: offset})

describe('pack reader', () => {
  it('joins blobs of one pack that follow within the gap, up to the largest range', () => {
    const ranges = planRanges([need('a', 0, 100), need('a', 100, 100), need('a', 200 + MAX_GAP, 10), need('a', 200 + 2 * MAX_GAP + 11, 5), need('b', 0, 10), need('a', 0, 10)])
    assert.deepEqual(
      ranges.map((r) => [r.packId, r.start, r.end, r.needs.length]),
      [
        ['a', 0, 210 + MAX_GAP, 3],
        ['a', 200 + 2 * MAX_GAP + 11, 216 + 2 * MAX_GAP, 1],
        ['b', 0, 10, 1],
        ['a', 0, 10, 1],
      ],
    )
    const big = planRanges([need('a', 0, MAX_RANGE - 10), need('a', MAX_RANGE - 10, 20)])
    assert.equal(big.length, 2, 'a range never exceeds MAX_RANGE')
    const same = planRanges([need('a', 50, 10), need('a', 50, 10)])
    assert.deepEqual(
      same.map((r) => [r.start, r.end, r.needs.length]),
      [[50, 60, 2]],
      'a blob wanted twice is read once',
    )
  })

  it('gives every blob checked, in order, and refuses a damaged or short pack', async () => {
    await digestReady('blake3')
    const pack = Buffer.from('hello world, this is a pack')
    const blob = (offset: number, length: number) => ({packId: 'p', offset, length, blobId: digestHex(pack.subarray(offset, offset + length), 'blake3'), tag: offset})
    const reads: Array<[number, number]> = []
    const read = async (_: string, offset: number, length: number) => {
      reads.push([offset, length])
      return [pack.subarray(offset, offset + length)]
    }
    const options = {read, digest: 'blake3' as const, concurrency: 2, where: 'test'}
    const got: string[] = []
    for await (const {data} of readBlobs([blob(0, 5), blob(6, 5), blob(13, 4)], options)) got.push(data.toString())
    assert.deepEqual(got, ['hello', 'world', 'this'])
    assert.deepEqual(reads, [[0, 17]])

    const wrong = {...blob(0, 5), blobId: blob(6, 5).blobId}
    await assert.rejects(async () => {
      for await (const _ of readBlobs([wrong], options));
    }, PrimaryDigestError)
    await assert.rejects(async () => {
      for await (const _ of readBlobs([blob(20, 20)], options));
    }, /ends at/)
  })
})
