// The pieces of the progress line: the rate over a moving window, cutting to a width, the clock.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {clock, cut} from '../../src/cli/progress.js'
import {RateWindow} from '../../src/cli/rate.js'
import {ArchiveProgress, PhaseProgress, type ProgressEvent} from '../../src/core/progress.js'

describe('progress pieces', () => {
  it('gives the rate of the last seconds, not the average since the start', () => {
    const rate = new RateWindow(5000)
    // 100 MB/s for 20 s, then a stall of 6 s: the window sees the stall, an average would not.
    for (let t = 0; t <= 20_000; t += 500) rate.add(t, t * 100_000)
    assert.equal(Math.round(rate.perSecond()), 100_000_000)
    rate.add(26_000, 20_000 * 100_000)
    assert.ok(rate.perSecond() < 20_000_000, `a stalled transfer shows a low rate: ${rate.perSecond()}`)
    assert.equal(new RateWindow(5000).perSecond(), 0)
  })

  it('cuts to a width without counting colour codes, and closes them', () => {
    assert.equal(cut('abcdef', 4), 'abcd')
    assert.equal(cut('\u001B[1mabc\u001B[22mdef', 4), '\u001B[1mabc\u001B[22md\u001B[0m')
    assert.equal(cut('abc', 10), 'abc')
    assert.deepEqual([clock(0), clock(61_000), clock(3_725_000)], ['0:00', '1:01', '1:02:05'])
  })

  it('counts a primary copy as the store takes it, and never past its totals', () => {
    const events: ProgressEvent[] = []
    const archive = new ArchiveProgress(new PhaseProgress((e) => events.push(e), 'a', 'uploading', {bytes: 300, files: 2}))
    archive.mark(612, 100, 1) // a file of 100 bytes after its 512-byte header
    archive.mark(1324, 200)
    archive.mark(1324, 0, 1)
    assert.deepEqual(events.at(-1)!.done, {bytes: 0, files: 0}, 'read is not sent')
    archive.sent(700)
    assert.deepEqual(events.at(-1)!.done, {bytes: 100, files: 1})
    archive.sent(600) // a retried write starts again: progress does not go back
    archive.end()
    assert.deepEqual([events.at(-1)!.done, events.at(-1)!.finished], [{bytes: 300, files: 2}, true])
    assert.ok(events.every((e) => e.total.bytes === 300 && e.total.files === 2))
  })
})
