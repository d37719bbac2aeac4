// How restore cuts the wanted files of an archive into segments.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {FileEntry} from '../../../src/core/format/manifest.js'
import {MAX_SEGMENT, SMALL_FILE_CHUNK, chunkSizeFor, planSegments, segmentSizeFor} from '../../../src/core/restore/fetch.js'

const file = (path: string, offset: number, size: number) => ({path, type: 'file', offset, size, mode: 0o644, mtimeMs: 0, sha256: ''}) as FileEntry
const shape = (files: FileEntry[], size: number) => planSegments(files, size).map((s) => [s.start, s.end, s.pieces.map((p) => `${p.entry.path}@${p.fileOffset}+${p.length}`)])

describe('planSegments', () => {
  it('puts neighbouring small files in one segment, reading through the headers between them', () => {
    assert.deepEqual(shape([file('a', 512, 100), file('b', 1536, 200), file('c', 2560, 10)], 1 << 20), [[512, 2570, ['a@0+100', 'b@0+200', 'c@0+10']]])
  })

  it('cuts a big file into pieces, no segment longer than the size', () => {
    assert.deepEqual(shape([file('small', 512, 1000), file('big', 1520, 2500)], 1024), [
      [512, 1536, ['small@0+1000', 'big@0+16']],
      [1536, 2560, ['big@16+1024']],
      [2560, 3584, ['big@1040+1024']],
      [3584, 4020, ['big@2064+436']],
    ])
  })

  it('starts a new segment after a gap of more than 64 KiB (files not wanted)', () => {
    assert.deepEqual(shape([file('a', 512, 10), file('b', 512 + 10 + (64 << 10), 10), file('c', 66068 + (64 << 10) + 1, 10)], 8 << 20), [
      [512, 66068, ['a@0+10', 'b@0+10']],
      [131605, 131615, ['c@0+10']],
    ])
  })
})

describe('segmentSizeFor', () => {
  const MiB = 1 << 20
  it('splits the span evenly over the streams', () => {
    assert.equal(segmentSizeFor(100 * MiB, 8 * MiB, 4), 25 * MiB)
    assert.equal(segmentSizeFor(1000, 64 << 10, 16), 64 << 10)
  })

  it('is at least one block and at most 64 MiB, unless the block is larger', () => {
    assert.equal(segmentSizeFor(4 * MiB, 8 * MiB, 4), 8 * MiB)
    assert.equal(segmentSizeFor(1024 * MiB, 8 * MiB, 4), MAX_SEGMENT)
    assert.equal(segmentSizeFor(1024 * MiB, 100 * MiB, 4), 100 * MiB)
    assert.equal(segmentSizeFor(0, 8 * MiB, 4), 8 * MiB)
  })
})

describe('chunkSizeFor', () => {
  // 1 MiB chunks of 1 KiB files outlive young collections and pile up until a full one (issue 11 item 30).
  it('asks small chunks for a segment of small files, and leaves big files to the store', () => {
    const small = Array.from({length: 1000}, (_, i) => file(`f${i}`, 512 + i * 2560, 1024))
    const segments = planSegments(small, 64 << 20)
    assert.equal(segments.length, 1)
    assert.equal(chunkSizeFor(segments[0]), SMALL_FILE_CHUNK)
    for (const segment of planSegments([file('big', 512, 200 << 20)], 64 << 20)) assert.equal(chunkSizeFor(segment), undefined)
    assert.equal(chunkSizeFor(planSegments([file('a', 512, 10), file('b', 1024, 1 << 20)], 8 << 20)[0]), undefined)
  })
})
