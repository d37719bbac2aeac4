import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {indexFitProblems} from '../../../src/core/archive/index-fit.js'

const digest = 'a'.repeat(64)
const file = (path: string, size: number, offset: number | undefined) => ({path, type: 'file', size, offset, sha256: digest})
const record = {archiveSize: 3072, files: 2, bytes: 600}

describe('index fit', () => {
  it('accepts files that lie inside the archive and add up to the record', () => {
    assert.deepEqual(indexFitProblems(record, [{path: 'd', type: 'dir', size: 0}, file('a', 100, 512), file('b', 500, 1536)]), [])
  })

  it('names each file that does not fit, and counts that do not add up', () => {
    const cases: Array<[any[], RegExp]> = [
      [[file('a', 100, 512), file('b', 2 ** 52, 1536)], /b: 4503599627370496 bytes at offset 1536 lie outside/],
      [[file('a', 100, -1), file('b', 500, 1536)], /a: .*offset -1/],
      [[file('a', 100.5, 512), file('b', 500, 1536)], /a: 100\.5 bytes/],
      [[file('a', 100, undefined), file('b', 500, 1536)], /a: .*offset undefined/],
      [[file('a', 100, 512), file('b', 500, 2600)], /b: .*outside the archive of 3072/],
      [[file('a', 100, 512), {...file('b', 500, 1536), sha256: 'zz'}], /b: the index gives no SHA-256/],
      [[file('a', 100, 512)], /index lists 1 files of 100 bytes, the manifest says 2 files of 600 bytes/],
      [[file('a', 101, 512), file('b', 500, 1536)], /index lists 2 files of 601 bytes/],
    ]
    for (const [entries, message] of cases) {
      const problems = indexFitProblems(record, entries)
      assert.ok(
        problems.some((p) => message.test(p.problem)),
        `${message}: ${JSON.stringify(problems)}`,
      )
    }
    assert.match(indexFitProblems({...record, archiveSize: -1}, [])[0].problem, /not a byte count/)
  })
})
