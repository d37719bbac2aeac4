// 'ckpt checkpoint prune' of format 2 through the built CLI, on the file store and Azurite: every
// pack a kept checkpoint needs stays (each kept id rebuilt byte for byte from its packs), the
// others go past the grace period and wait while a young open claim exists; verify and list agree.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {keys} from '../../../src/core/format/keys.js'
import {checkpointJob} from '../../helpers/checkpoints.js'
import {primaryKinds} from '../../helpers/primaries.js'
import {packsNamedBy, rebuildFiles, storedPacks} from '../../helpers/hand-format2.js'
import {takeRound, type Files} from '../../helpers/state-rounds.js'

const TASKS = ['alpha', 'beta']
const FORMAT2 = {checkpoint: {format: 2}}

for (const kind of primaryKinds) {
  describe(`checkpoint prune of format 2 on the ${kind.name} store`, () => {
    before(() => kind.setup())
    after(() => kind.teardown())

    it('keeps every pack a kept checkpoint needs and removes the rest; waits while a young open claim exists', async () => {
      const j = await checkpointJob(kind, {tasks: TASKS, extra: FORMAT2})
      const job = j.ctx.job.name
      try {
        const taken = new Map<string, Files>()
        for (let r = 1; r <= 5; r++) {
          const {id, files} = await takeRound(j, TASKS, r)
          taken.set(id, files)
        }
        const all = await storedPacks(j.ctx.primary, job)
        const list = await j.ckpt(['checkpoint', 'list'])
        const row = list.json.checkpoints.find((c: any) => c.checkpointId === 'chk-5')
        assert.equal(row.format, 2)
        assert.ok(row.addedBytes >= 2 << 20 && row.addedBytes < row.bytes / 2, `chk-5 added ${row.addedBytes} of ${row.bytes}`)

        // A take in progress (its claim has no commit record yet) holds every unneeded pack back.
        await j.ctx.primary.put(keys.claim(job, 'chk-6'), Buffer.from('{"checkpointId":"chk-6"}'))
        const held = await j.ckpt(['checkpoint', 'prune', '--retain', '2', '--grace', '1h'])
        assert.equal(held.code, 0, held.stderr)
        assert.deepEqual(held.json.removed, ['chk-1', 'chk-2', 'chk-3'])
        assert.equal(held.json.objects.packsDeleted, 0)
        assert.ok(held.json.objects.packsDeferred >= 2, JSON.stringify(held.json.objects))
        assert.deepEqual(await storedPacks(j.ctx.primary, job), all)
        await j.ctx.primary.delete(keys.claim(job, 'chk-6'))

        const pruned = await j.ckpt(['checkpoint', 'prune', '--retain', '2', '--grace', '0'])
        assert.equal(pruned.code, 0, pruned.stderr)
        const live = await packsNamedBy(j.ctx.primary, job, ['chk-4', 'chk-5'])
        assert.deepEqual([...(await storedPacks(j.ctx.primary, job))].sort(), [...live].sort(), 'exactly the packs of chk-4 and chk-5 remain')
        assert.equal(pruned.json.objects.packsDeleted, all.size - live.size)
        assert.ok(pruned.json.objects.packsDeleted >= 2 && pruned.json.objects.bytesFreed > 0)
        for (const id of ['chk-4', 'chk-5']) assert.deepEqual(await rebuildFiles(j.ctx.primary, job, id), taken.get(id), `${id} byte for byte`)
        const verify = await j.ckpt(['checkpoint', 'verify', '--all', '--read-data'])
        assert.equal(verify.code, 0, verify.stdout)
      } finally {
        await j.cleanup()
      }
    })
  })
}
