// The catalogue over a real file store: one listing of a job's objects, and `ID|latest` resolved
// by one check (exit 2 for an id that is malformed, unknown or not completed).
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {completedFrom, listJobObjects, resolveCheckpointId} from '../../../src/core/catalogue/catalogue.js'
import {UsageError} from '../../../src/core/errors.js'
import {formatCheckpointId} from '../../../src/core/format/ids.js'
import {keys} from '../../../src/core/format/keys.js'
import {FileStore} from '../../../src/core/stores/file-store.js'
import {tempDir} from '../../helpers/primaries.js'

const [one, two, three] = [1, 2, 3].map(formatCheckpointId)

async function withStore(fn: (store: FileStore) => Promise<void>): Promise<void> {
  const {dir, cleanup} = await tempDir()
  const {store} = await FileStore.open(dir, {create: true})
  try {
    // chk-1 and chk-2 completed, chk-3 claimed with data but never committed, chk-1 marked by a prune.
    for (const id of [one, two, three]) {
      await store.put(keys.claim('j', id), Buffer.from('{}'))
      await store.put(keys.archive('j', id, 't'), Buffer.from('0123456789'))
    }
    for (const id of [one, two]) await store.put(keys.manifest('j', id), Buffer.from('{}'))
    await store.put(keys.pruning('j', one), Buffer.from('{}'))
    await store.put(keys.lock('j', 'shared-x'), Buffer.from('{}'))
    await store.put(keys.manifest('other', formatCheckpointId(9)), Buffer.from('{}'))
    await fn(store)
  } finally {
    await store.close()
    await cleanup()
  }
}

const refused = (pattern: RegExp) => (e: unknown) => e instanceof UsageError && e.exit === 2 && pattern.test(e.message)

describe('the catalogue', () => {
  it('lists a job once: each checkpoint with its objects, completion and data bytes, and the pruning markers', () =>
    withStore(async (store) => {
      const objects = await listJobObjects(store, 'j')
      assert.deepEqual([...objects.checkpoints.keys()].sort(), [one, two, three])
      assert.deepEqual(
        [one, two, three].map((id) => [objects.checkpoints.get(id)!.completed, objects.checkpoints.get(id)!.dataBytes]),
        [
          [true, 10],
          [true, 10],
          [false, 10],
        ],
      )
      assert.deepEqual([...objects.marked], [one])
      assert.equal(objects.sizes.get(keys.lock('j', 'shared-x')), 2, 'every object of the job is sized, locks too')
      assert.equal(objects.sizes.has(keys.manifest('other', formatCheckpointId(9))), false)
    }))

  it('resolves latest and a completed id, and refuses malformed, unknown and incomplete ids with exit 2', () =>
    withStore(async (store) => {
      assert.equal(await resolveCheckpointId(store, 'j', 'latest'), two)
      assert.equal(await resolveCheckpointId(store, 'j', undefined), two)
      assert.deepEqual(await completedFrom(store, 'j', 'chk-1'), [one])
      assert.deepEqual(await completedFrom(store, 'j', 'latest'), [two, one])
      await assert.rejects(completedFrom(store, 'j', 'chk-99'), refused(/checkpoint chk-99 of job j is unknown or not completed; see 'ckpt checkpoint list'/))
      await assert.rejects(completedFrom(store, 'j', 'chk-3'), refused(/checkpoint chk-3 of job j is unknown or not completed/))
      await assert.rejects(completedFrom(store, 'j', 'seven'), refused(/"seven" is not of the form chk-N/))
      assert.deepEqual(await completedFrom(store, 'empty', 'latest'), [], 'an empty job has nothing to resolve; the caller says what that means')
      await assert.rejects(resolveCheckpointId(store, 'empty', 'latest'), refused(/job empty has no completed checkpoint/))
    }))
})
