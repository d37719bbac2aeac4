// 'ckpt checkpoint prune' beside a checkpoint whose manifest exists but whose objects are gone
// (what a lost commit answer used to leave): it never counts toward retention.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {keys} from '../../../src/core/format/keys.js'
import {checkpointJob} from '../../helpers/checkpoints.js'
import {primaryKinds} from '../../helpers/primaries.js'

for (const kind of primaryKinds) {
  describe(`ckpt checkpoint prune keeps what can be restored, on the ${kind.name} store`, () => {
    before(() => kind.setup())
    after(() => kind.teardown())

    it('with --retain 1 keeps the newest checkpoint that can be restored when the newest one lost its data', async () => {
      const j = await checkpointJob(kind, {tasks: ['alpha']})
      try {
        const job = j.ctx.job.name
        await j.take(3)
        // chk-3 is listed completed with nothing behind it; chk-2 lost its index.
        await j.ctx.primary.delete(keys.archive(job, 'chk-3', 'alpha'))
        await j.ctx.primary.delete(keys.index(job, 'chk-3', 'alpha'))
        await j.ctx.primary.delete(keys.index(job, 'chk-2', 'alpha'))
        const prune = await j.ckpt(['checkpoint', 'prune', '--retain', '1'])
        assert.equal(prune.code, 0, prune.stderr)
        assert.deepEqual([prune.json.kept, prune.json.removed], [['chk-1', 'chk-3'], ['chk-2']])
        const restore = await j.ckpt(['restore', '--prefer', 'remote'])
        assert.equal(restore.code, 0, restore.stdout + restore.stderr)
        assert.equal(restore.json.checkpointId, 'chk-1')
      } finally {
        await j.cleanup()
      }
    })
  })
}
