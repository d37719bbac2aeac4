// Takes and prunes at the same time, format 2: a loop of takes (this process, shared lock) and a
// loop of 'ckpt checkpoint prune --retain 2 --grace 0' (the built CLI, exclusive lock) for a while
// on each store; then every completed checkpoint is rebuilt byte for byte from its packs, verify
// --read-data passes, and a last prune leaves exactly the packs the kept checkpoints name.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {listCheckpoints} from '../../../src/core/catalogue/listing.js'
import {checkpointJob} from '../../helpers/checkpoints.js'
import {primaryKinds} from '../../helpers/primaries.js'
import {packsNamedBy, rebuildFiles, storedPacks} from '../../helpers/hand-format2.js'
import {takeRound, type Files} from '../../helpers/state-rounds.js'

const TASKS = ['alpha']
const SECONDS: Record<string, number> = {file: 40, azure: 25}

for (const kind of primaryKinds) {
  describe(`takes and prunes in loops on the ${kind.name} store`, () => {
    before(() => kind.setup())
    after(() => kind.teardown())

    it('leaves every completed checkpoint restorable byte for byte', {timeout: 300_000}, async () => {
      const j = await checkpointJob(kind, {tasks: TASKS, extra: {checkpoint: {format: 2}}})
      const job = j.ctx.job.name
      try {
        const taken = new Map<string, Files>()
        const deadline = Date.now() + SECONDS[kind.name] * 1000
        let removed = 0
        let prunes = 0
        // Both go on past the deadline until each has run enough: a loaded machine starts each prune late.
        let failed = false
        const stopOnFailure = (error: unknown): never => {
          failed = true
          throw error
        }
        const going = () => !failed && (Date.now() < deadline || taken.size < 5 || prunes < 3 || removed < 2)
        const takes = (async () => {
          for (let r = 1; going(); r++) {
            const {id, files} = await takeRound(j, TASKS, r)
            taken.set(id, files)
          }
        })().catch(stopOnFailure)
        const pruning = (async () => {
          while (going()) {
            const prune = await j.ckpt(['checkpoint', 'prune', '--retain', '2', '--grace', '0', '--lock-wait', '2m'])
            assert.equal(prune.code, 0, prune.stderr)
            removed += prune.json.removed.length
            prunes++
          }
        })().catch(stopOnFailure)
        await Promise.all([takes, pruning])
        assert.ok(taken.size >= 5 && prunes >= 3 && removed >= 2, `${taken.size} takes, ${prunes} prunes removing ${removed}`)
        const completed = (await listCheckpoints(j.ctx)).checkpoints.filter((c) => c.status === 'completed').map((c) => c.checkpointId)
        assert.ok(completed.length >= 2)
        for (const id of completed) assert.deepEqual(await rebuildFiles(j.ctx.primary, job, id), taken.get(id), `${id} byte for byte`)
        const verify = await j.ckpt(['checkpoint', 'verify', '--all', '--read-data'])
        assert.equal(verify.code, 0, verify.stdout)
        await new Promise((resolve) => setTimeout(resolve, 1100)) // Azure's times are whole seconds
        const last = await j.ckpt(['checkpoint', 'prune', '--retain', '2', '--grace', '0'])
        assert.equal(last.code, 0, last.stderr)
        const live = await packsNamedBy(j.ctx.primary, job, last.json.kept)
        assert.deepEqual([...(await storedPacks(j.ctx.primary, job))].sort(), [...live].sort())
      } finally {
        await j.cleanup()
      }
    })
  })
}
