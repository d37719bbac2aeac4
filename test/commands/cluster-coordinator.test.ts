// Many nodes (issue 14): kill -9 of the coordinator: another participant takes over within the
// lease, and checkpoints go on, announced by the new coordinator.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {JOB, LEASE_MS, POLL_MS, THREE_NODES, withCluster} from '../helpers/cluster.js'
import {clusterKeys} from '../../src/core/format/keys.js'
import {fileKind} from '../helpers/primaries.js'

// Takeover is due once the dead coordinator's last heartbeat is a lease old; a poll to notice, and a loaded machine on top.
const TAKEOVER_BOUND_MS = LEASE_MS + 2 * POLL_MS + 1500

describe('many nodes: the coordinator killed', {timeout: 90_000}, () => {
  it('is replaced by another participant within the lease, and checkpoints go on', async () => {
    await withCluster(fileKind, THREE_NODES, async (cluster) => {
      cluster.startAll()
      const before = await cluster.waitCompleted(1)
      const coordinator = await cluster.waitFor('a coordinator record', () => cluster.coordinator())
      const victim = cluster.participants.find((p) => p.node === coordinator.node)
      assert.ok(victim, `the coordinator record names node ${coordinator.node}, not a participant`)
      assert.equal(before.at(-1)!.node, victim.node, `the last checkpoint was announced by ${before.at(-1)!.node}, the coordinator record names ${victim.node}`)

      victim.kill9()
      const successor = await cluster.waitFor(
        `a coordinator other than ${victim.node} (killed)`,
        async () => {
          const c = await cluster.coordinator()
          return c && c.node !== victim.node ? c : undefined
        },
        LEASE_MS + 10_000,
      )
      assert.ok(successor.term > coordinator.term, `term ${successor.term} after ${coordinator.term}`)
      // In store time, from the victim's last heartbeat to the successor's record: the test's own lateness drops out.
      const primary = await cluster.primary()
      const lastHeartbeat = (await primary.stat(clusterKeys.participant(JOB, victim.node)))!.lastModified.getTime()
      const tookOver = (await primary.stat(clusterKeys.coordinator(JOB, successor.term)))!.lastModified.getTime()
      const tookMs = tookOver - lastHeartbeat
      assert.ok(tookMs <= TAKEOVER_BOUND_MS, `node ${successor.node} took over ${tookMs} ms after ${victim.node}'s last heartbeat; the lease is ${LEASE_MS} ms`)

      // The killed node's tasks come back with it (the orchestrator restarts it); checkpoints go on under the new coordinator.
      const lastOfVictim = (await cluster.announcements()).filter((a) => a.node === victim.node).at(-1)?.checkpointId ?? before.at(-1)!.checkpointId
      cluster.start(victim.node)
      const m = (await cluster.waitCompleted(1, {after: lastOfVictim, timeoutMs: 25_000}))[0]
      const announced = await cluster.announcement(m.checkpointId)
      assert.equal(announced?.node, successor.node, `${m.checkpointId} was announced by ${announced?.node}`)
      assert.equal(m.node, successor.node, `${m.checkpointId}'s manifest names ${m.node}`)
      assert.deepEqual(m.tasks!.map((t) => t.taskId).sort(), ['a1', 'a2', 'b1', 'c1'])
    })
  })
})
