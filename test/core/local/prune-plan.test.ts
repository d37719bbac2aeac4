import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {planLocalPrune} from '../../../src/core/local/prune-plan.js'
import type {LocalCopy} from '../../../src/core/local/copy-record.js'

const now = Date.now()
function copy(taskId: string, n: number, status: 'pending' | 'confirmed', options: {partial?: boolean; ageMs?: number; bytes?: number} = {}): LocalCopy {
  return {
    format: 1,
    job: 'j',
    taskId,
    checkpointId: `chk-${n}`,
    node: 'n',
    status,
    files: 1,
    bytes: options.bytes ?? 100,
    createdAt: '',
    root: '/r',
    dir: `/r/${taskId}/chk-${n}`,
    stateDir: '',
    partial: options.partial ?? false,
    mtimeMs: now - (options.ageMs ?? 0),
  }
}
const removed = (plan: ReturnType<typeof planLocalPrune>) => plan.decisions.filter((d) => d.action === 'remove').map((d) => `${d.copy.taskId}@${d.copy.checkpointId}`)

describe('local prune plan', () => {
  const copies = [
    copy('a', 1, 'confirmed'),
    copy('a', 2, 'confirmed'),
    copy('a', 3, 'confirmed'),
    copy('a', 4, 'pending', {ageMs: 2 * 3600_000}),
    copy('a', 5, 'pending'),
    copy('b', 2, 'confirmed'),
    copy('b', 6, 'pending', {partial: true, ageMs: 2 * 3600_000}),
  ]
  const policy = {keep: 2, graceMs: 3600_000, now}

  it('keeps the newest N confirmed per task; removes orphans, old pending copies and old leftovers', () => {
    const plan = planLocalPrune(copies, new Set(['chk-2', 'chk-3']), policy)
    assert.deepEqual(removed(plan), ['a@chk-1', 'a@chk-4', 'b@chk-6'])
    assert.match(plan.decisions[0].reason, /orphaned/)
  })

  it('without the primary, removes only what local records prove: old leftovers and locally confirmed copies beyond retention', () => {
    const plan = planLocalPrune(copies, undefined, policy)
    assert.deepEqual(removed(plan), ['a@chk-1', 'b@chk-6'])
    assert.ok(plan.decisions.filter((d) => d.copy.status === 'pending' && !d.copy.partial).every((d) => d.action === 'keep'))
  })

  it("evicts the oldest confirmed copies to fit --max-size, never a task's newest", () => {
    const plan = planLocalPrune([copy('a', 1, 'confirmed'), copy('a', 2, 'confirmed'), copy('b', 1, 'confirmed'), copy('b', 3, 'confirmed')], new Set(['chk-1', 'chk-2', 'chk-3']), {
      ...policy,
      keep: 5,
      maxSizeBytes: 250,
    })
    assert.deepEqual(removed(plan), ['a@chk-1', 'b@chk-1'])
    const none = planLocalPrune([copy('a', 1, 'confirmed', {bytes: 1000})], new Set(['chk-1']), {...policy, maxSizeBytes: 1})
    assert.deepEqual(removed(none), [])
  })
})
