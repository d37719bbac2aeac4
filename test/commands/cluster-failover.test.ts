// Many nodes (issue 14): `--failover job` across participants: one task killed on b, and every task
// of every node restores the same checkpoint id and restarts from it.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {JOB, THREE_NODES, lastRecoveries, withCluster} from '../helpers/cluster.js'
import {checkpointNumber} from '../../src/core/format/ids.js'
import {clusterKeys, keys} from '../../src/core/format/keys.js'
import {fileKind} from '../helpers/primaries.js'

describe('many nodes: --failover job', {timeout: 90_000}, () => {
  it('ends with every task of every node on the same checkpoint id', async () => {
    await withCluster(
      fileKind,
      THREE_NODES,
      async (cluster) => {
        const [, b] = cluster.startAll()
        await cluster.waitCompleted(2)
        const before = await cluster.epoch()
        const firstStarts = await cluster.startCounts()
        process.kill(b.taskPid('b1')!, 'SIGKILL')

        await cluster.waitFor(`a job-wide recovery after b1 was killed (an epoch after ${before})`, async () => (await cluster.epoch()) > before)
        await cluster.waitFor(
          'restored records of all four tasks in the newest epoch',
          async () => (await cluster.restoredIn(await cluster.epoch())).length === 4,
          20_000,
          async () => JSON.stringify(await cluster.restoredIn(await cluster.epoch())),
        )
        const epoch = await cluster.epoch()
        await cluster.waitCompleted(1, {epoch, timeoutMs: 20_000})
        const target = await cluster.read<{checkpointId: string | null}>(clusterKeys.target(JOB, epoch))
        assert.ok(target?.checkpointId, `epoch ${epoch}'s target: ${JSON.stringify(target)}`)
        const restored = await cluster.restoredIn(epoch)
        for (const r of restored) assert.equal(r.checkpointId, target.checkpointId, `restored record ${JSON.stringify(r)}`)
        // Every task, not only the one killed, is restarted. A restarted process logs its start once node has
        // loaded it, which on a loaded machine can come after the new epoch's first checkpoint: wait for that line.
        const notRestarted = () => cluster.participants.flatMap((p) => p.tasks.filter((t) => p.taskStarts(t).length <= firstStarts.get(t)!).map((t) => `${t}: ${JSON.stringify(p.taskStarts(t))}`))
        await cluster.waitFor(
          'every task of every node restarted',
          async () => notRestarted().length === 0,
          20_000,
          async () => notRestarted().join('; '),
        )

        for (const p of [...cluster.participants]) {
          const run = await p.stop()
          assert.equal(run.code, 130, `${p.node}:\n${run.stderr.slice(-2000)}`)
          const recs = lastRecoveries(run)
          for (const taskId of p.tasks) {
            const rec = recs.get(taskId)
            assert.ok(rec, `${p.node}'s run JSON has no recovery of ${taskId}: ${run.stdout.slice(0, 3000)}`)
            assert.equal(rec.checkpointId, target.checkpointId, `${p.node}: ${taskId} restored ${rec.checkpointId}; the job restored ${target.checkpointId}`)
            assert.equal(rec.source, 'local', `${p.node}: ${taskId} had its copy on its own node: ${JSON.stringify(rec)}`)
            // ... and started from that checkpoint.
            const starts = p.taskStarts(taskId)
            assert.ok(starts.length > firstStarts.get(taskId)!, `${taskId} was not restarted: ${JSON.stringify(starts)}`)
            assert.equal(starts.at(-1)!.restoredFrom, target.checkpointId, `${taskId} last started from ${starts.at(-1)!.restoredFrom || 'nothing'}`)
          }
        }
      },
      {failover: 'job'},
    )
  })
})

describe('many nodes: --failover job after a crash between an abort record and its mark', {timeout: 90_000}, () => {
  it('never targets the aborted checkpoint', async () => {
    await withCluster(
      fileKind,
      THREE_NODES,
      async (cluster) => {
        const [a] = cluster.startAll()
        const done = await cluster.waitCompleted(2)
        // A participant killed -9 between writing an abort record and its mark under cluster/aborted/ leaves this: the record alone.
        const newest = checkpointNumber(done.at(-1)!.checkpointId)!
        const aborted = `chk-${newest + 100}`
        const record = {
          format: 2,
          job: JOB,
          checkpointId: aborted,
          status: 'aborted',
          epoch: 0,
          reason: 'not every task acknowledged within checkpoint.timeout',
          abortedAt: new Date().toISOString(),
          node: 'c',
        }
        await (await cluster.primary()).createIfAbsent(keys.manifest(JOB, aborted as never), Buffer.from(JSON.stringify(record, null, 1)))
        const before = await cluster.epoch()
        await cluster.startCounts()
        process.kill(a.taskPid('a1')!, 'SIGKILL')

        await cluster.waitFor(`a job-wide recovery after a1 was killed (an epoch after ${before})`, async () => (await cluster.epoch()) > before)
        await cluster.waitFor('restored records of all four tasks in the newest epoch', async () => (await cluster.restoredIn(await cluster.epoch())).length === 4)
        const completed = new Set((await cluster.completed()).map((c) => c.checkpointId))
        for (let e = before + 1; e <= (await cluster.epoch()); e++) {
          const target = await cluster.read<{checkpointId: string | null}>(clusterKeys.target(JOB, e))
          assert.notEqual(target?.checkpointId, aborted, `epoch ${e} targets ${aborted}, whose commit record is an abort record`)
          assert.ok(target?.checkpointId && completed.has(target.checkpointId), `epoch ${e}'s target ${target?.checkpointId} is not a completed checkpoint`)
        }
      },
      {failover: 'job'},
    )
  })
})

describe('many nodes: --failover task', {timeout: 90_000}, () => {
  it('restores and restarts only the failed task, on its node, from its local copy, without a new epoch', async () => {
    await withCluster(
      fileKind,
      THREE_NODES,
      async (cluster) => {
        const [, b] = cluster.startAll()
        await cluster.waitCompleted(2)
        const before = await cluster.epoch()
        const firstStarts = await cluster.startCounts()
        process.kill(b.taskPid('b1')!, 'SIGKILL')
        await cluster.waitFor('b1 restarted', async () => b.taskStarts('b1').length > firstStarts.get('b1')!)
        const restartedFrom = b.taskStarts('b1').at(-1)!.restoredFrom
        assert.match(restartedFrom, /^chk-\d+$/, 'b1 restarted from a checkpoint')
        const after = await cluster.waitCompleted(1, {after: restartedFrom})
        assert.equal(await cluster.epoch(), before, 'a task failover begins no epoch')
        assert.deepEqual(after[0].tasks!.map((t) => t.taskId).sort(), ['a1', 'a2', 'b1', 'c1'])

        for (const p of [...cluster.participants]) {
          const run = await p.stop()
          assert.equal(run.code, 130, `${p.node}:\n${run.stderr.slice(-2000)}`)
          for (const taskId of p.tasks) {
            if (taskId === 'b1') continue
            assert.equal(p.taskStarts(taskId).length, firstStarts.get(taskId), `${taskId} was restarted although only b1 failed`)
            assert.ok(!lastRecoveries(run).has(taskId), `${p.node}'s run JSON has a recovery of ${taskId}: ${run.stdout.slice(0, 2000)}`)
          }
        }
        const rec = lastRecoveries(await b.result).get('b1')
        assert.ok(rec, "b's run JSON has no recovery of b1")
        assert.equal(rec.checkpointId, restartedFrom)
        assert.equal(rec.source, 'local', JSON.stringify(rec))
      },
      {failover: 'task'},
    )
  })
})
