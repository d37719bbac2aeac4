import assert from 'node:assert/strict'
import {test} from 'node:test'
import {encodePackTail, parsePack, PACK_FOOTER_SIZE, type PackTrailer} from '../../../src/core/format/pack.js'
import {digestHex} from '../../../src/core/util/digest.js'

const blob = (text: string) => Buffer.from(text)

test('a pack reads back alone: its trailer lists each blob where it lies', () => {
  const a = blob('alpha')
  const b = blob('bravo, a little longer')
  const trailer: PackTrailer = {
    format: 2,
    digest: 'sha256',
    blobs: [
      [digestHex(a, 'sha256'), 0, a.length],
      [digestHex(b, 'sha256'), a.length, b.length],
    ],
  }
  const pack = Buffer.concat([a, b, encodePackTail(trailer)])
  const parsed = parsePack(pack, 'test pack')
  assert.deepEqual(parsed, trailer)
  for (const [id, offset, length] of parsed.blobs) assert.equal(digestHex(pack.subarray(offset, offset + length), 'sha256'), id)
  assert.equal(pack.toString('latin1', pack.length - PACK_FOOTER_SIZE, pack.length - 8), 'CKPTPAK2')
})

test('a pack whose footer, trailer or blob list is damaged is refused by name', () => {
  const a = blob('alpha')
  const good = Buffer.concat([a, encodePackTail({format: 2, digest: 'sha256', blobs: [[digestHex(a, 'sha256'), 0, a.length]]})])
  assert.throws(() => parsePack(good.subarray(0, good.length - 1), 'p1'), /p1: not a ckpt pack/)
  const outside = Buffer.concat([a, encodePackTail({format: 2, digest: 'sha256', blobs: [[digestHex(a, 'sha256'), 0, a.length + 1]]})])
  assert.throws(() => parsePack(outside, 'p2'), /p2: pack trailer lists a blob outside the pack/)
  const flipped = Buffer.from(good)
  flipped[a.length + 2] ^= 0xff
  assert.throws(() => parsePack(flipped, 'p3'), /p3: pack trailer/)
})
