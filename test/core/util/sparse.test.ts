import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {dataRuns, dataRunsOf} from '../../../src/core/util/sparse.js'

const at = (runs: {data: Buffer; position: number}[] | undefined) => runs?.map((r) => [r.position, r.data.length])

describe('dataRuns', () => {
  it('leaves nothing out of data without zero blocks', () => {
    assert.equal(dataRuns(Buffer.alloc(10000, 1), 123), undefined)
  })

  it('leaves out aligned zero blocks and zero pieces of blocks at the ends, by file position', () => {
    const data = Buffer.alloc(3 * 4096, 0)
    data.fill(5, 100, 200) // block [0,4096) of the data, at file offset 1000: file block 0 from 1000 to 4096 holds data
    data.fill(6, 9000, 9001)
    assert.deepEqual(at(dataRuns(data, 1000)), [
      [1000, 3096],
      [8192, 4096],
    ])
  })

  it('writes every part when only a part boundary holds zeros', () => {
    const parts = [Buffer.alloc(5000, 1), Buffer.alloc(8192, 0), Buffer.alloc(100, 2)]
    assert.deepEqual(at(dataRunsOf(parts, 0)), [
      [0, 5000],
      [13192, 100],
    ])
    assert.equal(dataRunsOf([Buffer.alloc(5000, 1), Buffer.alloc(3000, 2)], 0), undefined)
  })
})
