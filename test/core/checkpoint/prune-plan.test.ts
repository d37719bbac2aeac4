import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {planPrune, referencedKeys, type PruneCandidate} from '../../../src/core/checkpoint/prune-plan.js'
import type {Manifest} from '../../../src/core/format/manifest.js'

const now = Date.parse('2030-01-10T00:00:00Z')
const day = 86_400_000
function manifest(id: string, ageMs: number): Manifest {
  const createdAt = new Date(now - ageMs).toISOString()
  return {
    format: 1,
    job: 'j',
    checkpointId: id,
    createdAt,
    completedAt: createdAt,
    node: 'n',
    tasks: [{taskId: 't', archive: `j/data/${id}/t.tar`, archiveSize: 1, archiveSha256: '', index: `j/data/${id}/t.index.json`, indexSize: 1, indexSha256: '', files: 0, bytes: 0}],
  }
}
const done = (n: number, ageMs: number): PruneCandidate => ({checkpointId: `chk-${n}`, completed: true, manifest: manifest(`chk-${n}`, ageMs), lastWriteMs: now - ageMs, marked: false})
const open = (n: number, ageMs: number, marked = false): PruneCandidate => ({checkpointId: `chk-${n}`, completed: false, lastWriteMs: now - ageMs, marked})
const removed = (c: PruneCandidate[], policy: Partial<Parameters<typeof planPrune>[1]>) =>
  planPrune(c, {retain: 3, graceMs: 3600_000, now, ...policy})
    .filter((d) => d.action === 'remove')
    .map((d) => d.checkpointId)

describe('prune plan', () => {
  it('keeps the newest N completed checkpoints', () => {
    const all = [1, 2, 3, 4, 5].map((n) => done(n, (6 - n) * day))
    assert.deepEqual(removed(all, {retain: 2}), ['chk-1', 'chk-2', 'chk-3'])
    assert.deepEqual(removed(all, {retain: 5}), [])
    assert.deepEqual(removed(all, {retain: 0}), ['chk-1', 'chk-2', 'chk-3', 'chk-4'], 'the newest completed always stays')
  })

  it('keeps completed checkpoints taken within --keep-within', () => {
    const all = [done(1, 10 * day), done(2, 5 * day), done(3, 2 * day), done(4, 3600_000), done(5, 0)]
    assert.deepEqual(removed(all, {retain: 1, keepWithinMs: 3 * day}), ['chk-1', 'chk-2'])
    assert.deepEqual(removed(all, {retain: 1, keepWithinMs: 6 * day}), ['chk-1'])
  })

  it('removes incomplete checkpoints only when older than the newest completed one and the grace period', () => {
    const all = [done(1, 9 * day), open(2, 8 * day), open(3, 60_000), done(4, 7 * day), open(5, 9 * day), open(6, 30 * 60_000, true)]
    const plan = planPrune(all, {retain: 3, graceMs: 3600_000, now})
    assert.deepEqual(
      plan.filter((d) => d.action === 'remove').map((d) => d.checkpointId),
      ['chk-2'],
    )
    assert.match(plan.find((d) => d.checkpointId === 'chk-5')!.reason, /newer than the newest completed/)
    assert.match(plan.find((d) => d.checkpointId === 'chk-3')!.reason, /grace period/)
    const marked = [done(1, 9 * day), open(2, 60_000, true), done(3, 0)]
    assert.deepEqual(removed(marked, {}), ['chk-2'], "an interrupted prune's choice is finished whatever its age")
  })

  it('keeps a completed checkpoint whose manifest cannot be read, without counting it', () => {
    const broken: PruneCandidate = {checkpointId: 'chk-2', completed: true, lastWriteMs: now, marked: false}
    assert.deepEqual(removed([done(1, 3 * day), broken, done(3, day), done(4, 0)], {retain: 2}), ['chk-1'])
  })

  it('never counts a checkpoint whose objects are missing, and never removes the newest that can be restored', () => {
    const lost: PruneCandidate = {...done(2, 0), unrestorable: 'j/data/chk-2/t.tar is missing'}
    const plan = planPrune([done(1, day), lost], {retain: 1, graceMs: 3600_000, now})
    assert.deepEqual(
      plan.map((d) => [d.checkpointId, d.action]),
      [
        ['chk-1', 'keep'],
        ['chk-2', 'keep'],
      ],
    )
    assert.match(plan[0].reason, /newest checkpoint that can be restored/)
    assert.match(plan[1].reason, /newest completed.*cannot be restored/)
    const middle: PruneCandidate = {...done(3, day), unrestorable: 'j/data/chk-3/t.index.json is 0 bytes, the manifest says 1'}
    const all = [done(1, 4 * day), done(2, 3 * day), middle, done(4, 0)]
    assert.deepEqual(removed(all, {retain: 2}), ['chk-1', 'chk-3'], 'retention counts chk-4 and chk-2; chk-3 can never be restored')
  })

  it('collects the keys that kept manifests reference', () => {
    assert.deepEqual([...referencedKeys([manifest('chk-1', 0), undefined])], ['j/data/chk-1/t.tar', 'j/data/chk-1/t.index.json'])
  })
})
