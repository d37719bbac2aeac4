// Many nodes (issue 14): a participant left in an earlier epoch (its ckpt process stopped while the
// others recovered) cannot get a checkpoint committed; once it runs again it rejoins the new epoch.
import assert from 'node:assert/strict'
import {setTimeout as sleep} from 'node:timers/promises'
import {describe, it} from 'node:test'
import {CHECKPOINT_TIMEOUT_MS, LEASE_MS, THREE_NODES, withCluster} from '../helpers/cluster.js'
import {mixedEpochProblems} from '../helpers/cluster-records.js'
import {isAlive, processState} from '../helpers/run-job.js'
import {fileKind} from '../helpers/primaries.js'

describe('many nodes: a participant from an earlier epoch', {timeout: 90_000}, () => {
  it('gets no checkpoint committed while it lags, and rejoins the new epoch when it runs again', async () => {
    await withCluster(fileKind, THREE_NODES, async (cluster) => {
      const [a, b] = cluster.startAll()
      await cluster.waitCompleted(1)
      await cluster.startCounts()
      const before = await cluster.epoch()
      const b1 = b.taskPid('b1')!
      const a1 = a.taskPid('a1')!

      try {
        // b's ckpt process only; its task b1 runs on. A stop that lands while b has b1 paused for a
        // capture's local copy would leave b1 paused too: then b goes on and is stopped again.
        for (let attempt = 1; ; attempt++) {
          process.kill(b.pid, 'SIGSTOP')
          await cluster.waitFor(`b's ckpt process (pid ${b.pid}) to stop`, async () => processState(b.pid) === 'T')
          if (processState(b1) !== 'T' || attempt === 20) break
          process.kill(b.pid, 'SIGCONT')
          await sleep(100)
        }
        assert.ok(isAlive(b1) && processState(b1) !== 'T', 'b1 runs on while b is stopped')
        process.kill(a1, 'SIGKILL')
        const epoch = await cluster.waitFor(`a job-wide recovery after task a1 was killed (an epoch after ${before})`, async () => {
          const e = await cluster.epoch()
          return e > before ? e : undefined
        })
        // Without b1's acknowledgement nothing of the new epoch may complete: watch for a lease and a checkpoint timeout and more
        // (whether the coordinator announces checkpoints that abort, or waits for b1 to be restored, is the implementation's choice).
        const watchUntil = Date.now() + LEASE_MS + CHECKPOINT_TIMEOUT_MS + 2000
        while (Date.now() < watchUntil) {
          const early = (await cluster.completed()).filter((c) => c.epoch >= epoch)
          assert.deepEqual(
            early.map((c) => c.checkpointId),
            [],
            `checkpoints of epoch ${epoch} completed while b (and b1's acknowledgement) was stopped`,
          )
          await sleep(200)
        }
        // What the earlier epoch completed, settled: its open checkpoints were aborted when the recovery began.
        const oldCompleted = (await cluster.completed()).filter((c) => c.epoch < epoch).map((c) => c.checkpointId)
        assert.ok(isAlive(b1), 'b1 (left over from the earlier epoch) still runs')

        process.kill(b.pid, 'SIGCONT')
        const done = await cluster.waitCompleted(1, {epoch, timeoutMs: 25_000})
        await sleep(1000)
        const nowEpoch = await cluster.epoch()
        const restored = await cluster.restoredIn(done[0].epoch)
        assert.ok(
          restored.some((r) => r.taskId === 'b1' && r.node === 'b'),
          `b1 was not restored in epoch ${done[0].epoch}: ${JSON.stringify(restored)}`,
        )
        assert.ok(!isAlive(b1), `b1's process from epoch ${before} (pid ${b1}) still runs in epoch ${nowEpoch}`)
        // its restart is logged once node has loaded the new process, which can come after that checkpoint
        await cluster.waitFor(
          'b1 restarted in the new epoch',
          async () => b.taskStarts('b1').length >= 2,
          20_000,
          async () => JSON.stringify(b.taskStarts('b1')),
        )

        // The earlier epoch got nothing committed once the new one began.
        const oldNow = (await cluster.completed()).filter((c) => c.epoch < epoch).map((c) => c.checkpointId)
        assert.deepEqual(oldNow, oldCompleted, 'a checkpoint of an earlier epoch completed after the recovery began')
        assert.deepEqual(await mixedEpochProblems(cluster), [])
      } finally {
        if (!b.exited) process.kill(b.pid, 'SIGCONT')
      }
      const run = await b.stop()
      assert.equal(run.code, 130, run.stderr.slice(-2000))
      const rec = (run.json.recoveries as Array<{taskId: string; checkpointId: string; trigger: string}>).filter((r) => r.taskId === 'b1')
      assert.ok(rec.length >= 1, `b's run JSON has no recovery of b1: ${run.stdout.slice(0, 2000)}`)
    })
  })
})
