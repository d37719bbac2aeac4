// Many nodes (issue 14): kill -9 of a participant in the middle of a checkpoint: that checkpoint gets
// an abort record and never completes; once the participant is back, checkpoints commit again.
import assert from 'node:assert/strict'
import {readdirSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'
import {describe, it} from 'node:test'
import {CHECKPOINT_TIMEOUT_MS, THREE_NODES, withCluster, type ClusterTask} from '../helpers/cluster.js'
import {checkpointNumber} from '../../src/core/format/ids.js'
import {fileKind} from '../helpers/primaries.js'

// b1's snapshot command sleeps 2 s: b's part of every checkpoint is long in flight.
const SLOW_B: ClusterTask[] = THREE_NODES.map((t) => (t.id === 'b1' ? {...t, slowSnapshot: 2} : t))

describe('many nodes: a participant killed during a checkpoint', {timeout: 90_000}, () => {
  it('aborts that checkpoint for good, and commits again once the participant is back', async () => {
    await withCluster(fileKind, SLOW_B, async (cluster) => {
      const [, b] = cluster.startAll()
      const first = await cluster.waitCompleted(1, {timeoutMs: 25_000})
      const floor = checkpointNumber(first.at(-1)!.checkpointId)!
      // b1's snapshot has begun for a checkpoint after the committed one, and that checkpoint has no commit record yet.
      const inFlight = await cluster.waitFor(`b1's snapshot of a checkpoint after ${first.at(-1)!.checkpointId} to begin`, async () => {
        const commits = new Set((await cluster.commits()).map((c) => c.checkpointId))
        const started = readdirSync(b.dir)
          .map((name) => /^snap-(chk-\d+)-b1$/.exec(name)?.[1])
          .filter((id): id is string => id !== undefined && checkpointNumber(id)! > floor && !commits.has(id))
        return started.at(-1)
      })
      b.kill9()
      await b.result

      const record = await cluster.waitFor(
        `a commit record for ${inFlight} (b was killed while taking it)`,
        async () => (await cluster.commits()).find((c) => c.checkpointId === inFlight),
        CHECKPOINT_TIMEOUT_MS + 10_000,
      )
      assert.equal(record.status, 'aborted', `${inFlight} completed although b was killed before acknowledging b1: ${JSON.stringify(record)}`)
      const acks = await cluster.acks(inFlight)
      assert.ok(!acks.some((a) => a.taskId === 'b1'), `${inFlight} has an ack of b1 although b died in its snapshot`)

      const list = await cluster.cli('a', ['checkpoint', 'list', '--json'])
      assert.equal(list.code, 0, `checkpoint list on a:\n${list.stdout}\n${list.stderr}`)
      const listed = list.json.checkpoints.find((c: {checkpointId: string}) => c.checkpointId === inFlight)
      assert.ok(listed, `checkpoint list does not show ${inFlight}: ${list.stdout}`)
      assert.equal(listed.status, 'incomplete')
      assert.equal(listed.aborted, true)

      // b comes back: same node name, same folder and local root.
      cluster.start('b')
      await cluster.waitCompleted(2, {after: inFlight, timeoutMs: 30_000})
      await sleep(500)
      const again = (await cluster.commits()).find((c) => c.checkpointId === inFlight)
      assert.equal(again?.status, 'aborted', `${inFlight}'s commit record changed: ${JSON.stringify(again)}`)
    })
  })
})
