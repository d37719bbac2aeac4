// A shared lock on a store that says it is read-only (issue 12 point 1): the lock reads the
// store's `writable` property and tries no write, instead of reading a failed write's error.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {withLock} from '../../../src/core/lock/lock.js'
import type {PrimaryStore} from '../../../src/core/stores/store.js'
import {checkpointJob, type CheckpointJob} from '../../helpers/checkpoints.js'
import {fileKind} from '../../helpers/primaries.js'

/** The job's real store, declared read-only, counting the writes it is asked for. */
function readOnly(store: PrimaryStore, writes: string[]): PrimaryStore {
  return Object.assign(Object.create(store) as PrimaryStore, {
    properties: {...store.properties, writable: false},
    put: async (key: string) => void writes.push(key),
    createIfAbsent: async (key: string) => void writes.push(key),
  })
}

describe('a shared lock on a store that is not writable', () => {
  let j: CheckpointJob
  before(async () => {
    await fileKind.setup()
    j = await checkpointJob(fileKind)
  })
  after(async () => {
    await j?.cleanup()
    await fileKind.teardown()
  })

  it('goes on without a lock, with a warning, and writes nothing', async () => {
    const writes: string[] = []
    const warnings: string[] = []
    const ctx = {...j.ctx, primary: readOnly(j.ctx.primary, writes)}
    const result = await withLock(ctx, {mode: 'shared', purpose: 'verify', onWarning: (w) => warnings.push(w)}, async () => 'read')
    assert.equal(result, 'read')
    assert.deepEqual(writes, [], 'no lock write is tried')
    assert.match(warnings.join('\n'), /cannot write a lock to the primary store .*read-only.*going on without one/)
  })
})
