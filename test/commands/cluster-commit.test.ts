// Many nodes (issue 14): three participants commit checkpoints of every task, and one checkpoint id
// restores every task on every node.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {THREE_NODES, nodeOf, withCluster} from '../helpers/cluster.js'
import {primaryKinds} from '../helpers/primaries.js'

const ALL = THREE_NODES.map((t) => t.id).sort()

for (const kind of primaryKinds) {
  describe(`many nodes on the ${kind.name} store: checkpoints across participants`, {timeout: 180_000}, () => {
    before(() => kind.setup())
    after(() => kind.teardown())

    it('commits checkpoints with every task, each task recorded with its node, and restores every task from one id', async () => {
      await withCluster(kind, THREE_NODES, async (cluster) => {
        cluster.startAll()
        const done = await cluster.waitCompleted(2)
        for (const m of done) {
          assert.deepEqual(m.tasks!.map((t) => t.taskId).sort(), ALL, `${m.checkpointId}'s tasks`)
          for (const t of m.tasks!) assert.equal(t.node, nodeOf(THREE_NODES, t.taskId), `${m.checkpointId}: task ${t.taskId}'s node`)
          const announced = await cluster.announcement(m.checkpointId)
          assert.ok(announced, `${m.checkpointId} has no announcement`)
          assert.equal(m.epoch, announced.epoch, `${m.checkpointId}: manifest and announcement epochs`)
          const acks = await cluster.acks(m.checkpointId)
          assert.deepEqual(acks.map((a) => a.taskId).sort(), ALL, `${m.checkpointId}'s acks`)
          for (const a of acks) {
            assert.equal(a.node, nodeOf(THREE_NODES, a.taskId), `${m.checkpointId}: ack of ${a.taskId} by its node`)
            assert.equal(a.epoch, m.epoch, `${m.checkpointId}: ack of ${a.taskId} in the manifest's epoch`)
          }
        }
        const chosen = done.at(-1)!.checkpointId
        await cluster.waitCopiesConfirmed(chosen)
        const runs = await Promise.all(cluster.participants.map(async (p) => ({p, run: await p.stop()})))
        for (const {p, run} of runs) {
          assert.equal(run.code, 130, `${p.node} after SIGTERM:\n${run.stderr.slice(-2000)}`)
          assert.deepEqual(run.json?.exit, {code: 130, reason: 'stopped by SIGTERM'}, `${p.node}'s run JSON: ${run.stdout.slice(0, 2000)}`)
          const ids = (run.json.checkpoints as Array<{checkpointId: string}>).map((c) => c.checkpointId)
          for (const m of done) assert.ok(ids.includes(m.checkpointId), `${p.node}'s run JSON lists ${ids.join(', ') || 'no checkpoints'}, not ${m.checkpointId}`)
        }

        for (const p of cluster.participants) {
          const restore = await cluster.cli(p.node, ['restore', chosen, ...p.tasks.flatMap((t) => ['--task', t]), '--json'])
          assert.equal(restore.code, 0, `restore ${chosen} on ${p.node}:\n${restore.stdout}\n${restore.stderr}`)
          assert.equal(restore.json.checkpointId, chosen)
          assert.deepEqual(restore.json.tasks.map((t: {taskId: string}) => t.taskId).sort(), [...p.tasks].sort())
          for (const t of restore.json.tasks) {
            assert.equal(t.checkpointId, chosen, `${p.node}: ${t.taskId} restored from ${t.checkpointId}`)
            assert.equal(t.source, 'local', `${p.node}: ${t.taskId} from ${t.source}: ${t.reason}`)
            // The counter fixture's state, as the checkpoint held it: counted, and consistent.
            const state = JSON.parse(readFileSync(path.join(p.dir, 'state', t.taskId, 'counter.json'), 'utf8'))
            assert.ok(state.value > 0, `${p.node}: ${t.taskId} restored value ${state.value}`)
            assert.equal(state.check, (state.value * 7919 + 13) % 1000003, `${p.node}: ${t.taskId}'s restored state is consistent`)
          }
        }
      })
    })
  })
}
