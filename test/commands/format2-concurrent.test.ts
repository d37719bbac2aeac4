// Issue 13, "take and prune running concurrently in loops for a while": format-2 takes with random
// changes between them while `prune --retain 2 --grace 0` runs in a loop beside them; afterwards
// every completed checkpoint restores byte for byte and names no missing pack.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {checkTaken, format2Job, restoreAndCheck, MiB, type TreeDigest} from '../helpers/format2-e2e.js'
import {randomChanges, seedState, seeded} from '../helpers/format2-changes.js'
import {fileKind} from '../helpers/primaries.js'

const LOOP_MS = 20_000

describe('format-2 take and prune in loops side by side (file store)', () => {
  it(`keeps every completed checkpoint restorable after ${LOOP_MS / 1000} s of both`, async () => {
    const rng = seeded(1200)
    const job = await format2Job(fileKind, {retain: {local: 2}})
    try {
      for (const t of job.tasks) await seedState(job.state(t), rng, {bigBytes: MiB})
      const taken = new Map<string, Record<string, TreeDigest>>()
      taken.set((await job.take()).checkpointId, await job.digests())
      const deadline = Date.now() + LOOP_MS
      let pruned = 0
      // Both go on past the deadline until each has run a few times: a loaded machine starts each prune late.
      let failed = false
      const stopOnFailure = (error: unknown): never => {
        failed = true
        throw error
      }
      const going = () => !failed && (Date.now() < deadline || taken.size < 3 || pruned < 3)
      const takes = (async () => {
        for (let round = 1; going(); round++) {
          for (const t of job.tasks) await randomChanges(job.state(t), rng, round, 2)
          const digests = await job.digests()
          taken.set((await job.take()).checkpointId, digests)
        }
      })().catch(stopOnFailure)
      const prunes = (async () => {
        while (going()) {
          const prune = await job.ckpt(['checkpoint', 'prune', '--retain', '2', '--grace', '0'])
          assert.equal(prune.code, 0, `prune ${++pruned}: ${prune.stdout}${prune.stderr}`)
          await sleep(rng.int(0, 300))
        }
      })().catch(stopOnFailure)
      await Promise.all([takes, prunes])
      assert.ok(taken.size >= 3 && pruned >= 3, `both loops ran (${taken.size} takes, ${pruned} prunes)`)
      const completed = await job.completed()
      assert.ok(completed.length >= 2, `retain 2 keeps two: ${completed.join(', ')}`)
      const stored = await job.packs()
      for (const id of completed) {
        for (const p of await job.packsNamedBy(id)) assert.ok(stored.has(p), `${id} names pack ${p}, which prune removed`)
        await checkTaken(job, id, taken.get(id)!, {copy: false})
        await restoreAndCheck(job, id, taken.get(id)!, 'remote')
      }
    } finally {
      await job.cleanup()
    }
  })
})
