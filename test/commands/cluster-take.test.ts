// Many nodes (issue 14): `ckpt checkpoint take` on a job whose participants are running asks them for
// a checkpoint and reports its outcome: completed with every task, or exit 1 when it cannot complete.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {THREE_NODES, withCluster} from '../helpers/cluster.js'
import {processState} from '../helpers/run-job.js'
import {fileKind} from '../helpers/primaries.js'

describe('many nodes: checkpoint take asks the running participants', {timeout: 90_000}, () => {
  it('reports the checkpoint they took, and exit 1 while one participant cannot acknowledge', async () => {
    await withCluster(fileKind, THREE_NODES, async (cluster) => {
      const [, b] = cluster.startAll()
      await cluster.waitCompleted(1)
      cluster.nodeDir('ops') // an operator's machine: the same job file, no tasks of its own

      const take = await cluster.cli('ops', ['checkpoint', 'take', '--json'])
      assert.equal(take.code, 0, `take while the participants run:\n${take.stdout}\n${take.stderr}`)
      assert.equal(take.json.status, 'completed')
      const id = take.json.checkpointId as string
      assert.deepEqual(take.json.tasks.map((t: {taskId: string}) => t.taskId).sort(), ['a1', 'a2', 'b1', 'c1'])
      const commit = (await cluster.commits()).find((c) => c.checkpointId === id)
      assert.equal(commit?.status, 'completed', `${id}'s commit record: ${JSON.stringify(commit)}`)
      const announced = await cluster.announcement(id)
      assert.ok((announced as {requests?: string[]} | undefined)?.requests?.length, `${id} was not announced for the request: ${JSON.stringify(announced)}`)

      process.kill(b.pid, 'SIGSTOP') // b cannot acknowledge b1
      try {
        await cluster.waitFor(`b's ckpt process (pid ${b.pid}) to stop`, async () => processState(b.pid) === 'T')
        const refused = await cluster.cli('ops', ['checkpoint', 'take', '--json'])
        assert.equal(refused.code, 1, `take while b is stopped:\n${refused.stdout}\n${refused.stderr}`)
        assert.equal(refused.json?.error?.exit, 1, refused.stdout)
      } finally {
        process.kill(b.pid, 'SIGCONT')
      }
      const again = await cluster.cli('ops', ['checkpoint', 'take', '--json'])
      assert.equal(again.code, 0, `take once b runs again:\n${again.stdout}\n${again.stderr}\n${cluster.tails()}`)
    })
  })
})
