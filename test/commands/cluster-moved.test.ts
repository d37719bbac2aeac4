// Many nodes (issue 14): a replacement participant on another machine (node d, empty local root)
// takes over a killed node's task: that task restores from the primary, naming the node that held
// its copy, while every other task restores from its own node's copy.
import assert from 'node:assert/strict'
import {existsSync, readdirSync} from 'node:fs'
import * as path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {after, before, describe, it} from 'node:test'
import {LEASE_MS, THREE_NODES, lastRecoveries, withCluster} from '../helpers/cluster.js'
import {clusterKeys} from '../../src/core/format/keys.js'
import {JOB} from '../helpers/cluster.js'
import {primaryKinds} from '../helpers/primaries.js'

for (const kind of primaryKinds) {
  describe(`many nodes on the ${kind.name} store: a task that moved to another node`, {timeout: 180_000}, () => {
    before(() => kind.setup())
    after(() => kind.teardown())

    it('restores the moved task from the primary (heldBy the old node) and the others from their own nodes', async () => {
      await withCluster(kind, THREE_NODES, async (cluster) => {
        const [a, b, c] = cluster.startAll()
        const done = await cluster.waitCompleted(2)
        await cluster.waitCopiesConfirmed(done.at(-1)!.checkpointId)
        const before = await cluster.epoch()
        c.kill9()
        await c.result
        await sleep(LEASE_MS + 500)

        // d is another machine: its own folder, an empty local root, no state of c1.
        assert.ok(!existsSync(path.join(cluster.dir, 'nodes', 'd')))
        cluster.nodeDir('d')
        const plan = await cluster.cli('d', ['restore', '--plan', '--task', 'c1', '--json'])
        assert.equal(plan.code, 0, `restore --plan on d:\n${plan.stdout}\n${plan.stderr}`)
        const planned = plan.json.tasks.find((t: {taskId: string}) => t.taskId === 'c1')
        assert.equal(planned.source, 'remote', JSON.stringify(planned))
        assert.equal(planned.heldBy, 'c', `the plan names the node that held c1's copy: ${JSON.stringify(planned)}`)
        assert.match(planned.reason, /\bc\b/, `the plan's reason names node c: ${planned.reason}`)
        const d = cluster.start('d', {taskIds: ['c1']})
        assert.deepEqual(readdirSync(path.join(d.dir, 'state', 'c1')), [], "d starts without c1's state")
        assert.deepEqual(readdirSync(path.join(d.dir, 'local')), [], 'd starts with an empty local root')

        const epoch = await cluster.waitFor(`a job-wide recovery (an epoch after ${before}) once d joined`, async () => {
          const e = await cluster.epoch()
          return e > before ? e : undefined
        })
        const restored = await cluster.waitFor(
          `restored records of all four tasks in epoch ${epoch}`,
          async () => {
            const found = await cluster.restoredIn(await cluster.epoch())
            return found.length === 4 ? found : undefined
          },
          30_000,
          async () => JSON.stringify(await cluster.restoredIn(await cluster.epoch())),
        )
        const target = await cluster.read<{checkpointId: string}>(clusterKeys.target(JOB, await cluster.epoch()))
        assert.ok(target?.checkpointId, `the epoch's target: ${JSON.stringify(target)}`)
        await cluster.waitCompleted(1, {epoch: await cluster.epoch(), timeoutMs: 30_000})

        const runs = new Map<string, Awaited<ReturnType<typeof a.stop>>>()
        for (const p of [a, b, d]) runs.set(p.node, await p.stop())
        const expect: Array<[string, string, string]> = [
          ['a', 'a1', 'local'],
          ['a', 'a2', 'local'],
          ['b', 'b1', 'local'],
          ['d', 'c1', 'remote'],
        ]
        for (const [node, taskId, source] of expect) {
          const run = runs.get(node)!
          const rec = lastRecoveries(run).get(taskId)
          assert.ok(rec, `${node}'s run JSON has no recovery of ${taskId}: ${run.stdout.slice(0, 3000)}\n${run.stderr.slice(-1500)}`)
          assert.equal(rec.checkpointId, target.checkpointId, `${taskId} restored ${rec.checkpointId}, the epoch's target is ${target.checkpointId}`)
          assert.equal(rec.source, source, `${taskId} on ${node}: ${JSON.stringify(rec)}`)
          if (taskId === 'c1') assert.equal(rec.heldBy, 'c', `c1's recovery names the node that held its copy: ${JSON.stringify(rec)}`)
          else assert.equal(rec.heldBy, undefined, `${taskId} had its own copy: ${JSON.stringify(rec)}`)
          const r = restored.find((x) => x.taskId === taskId)!
          assert.equal(r.node, node)
          assert.equal(r.source, source, `restored record of ${taskId}: ${JSON.stringify(r)}`)
        }
        assert.equal(restored.find((x) => x.taskId === 'c1')!.heldBy, 'c')
      })
    })
  })
}
