// Many nodes (issue 14): a second participant claiming a live participant's task is refused (exit 1,
// naming the first's node and pid); a participant with another job file is refused (exit 2).
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {JOB, withCluster, type ClusterTask} from '../helpers/cluster.js'
import {clusterKeys} from '../../src/core/format/keys.js'
import {fileKind} from '../helpers/primaries.js'

// Node names that no English word in a message could be taken for.
const TASKS: ClusterTask[] = [
  {id: 't1', node: 'alpha'},
  {id: 't2', node: 'alpha'},
  {id: 't3', node: 'beta'},
  {id: 't4', node: 'gamma'},
]

describe('many nodes: refusals', {timeout: 90_000}, () => {
  it('refuses a second participant for a live one’s task (exit 1) and a participant with another job file (exit 2)', async () => {
    await withCluster(fileKind, TASKS, async (cluster) => {
      // alpha and beta run; gamma's task t4 is nobody's yet.
      const alpha = cluster.start('alpha')
      const beta = cluster.start('beta')
      await cluster.waitFor('participant records of alpha and beta', async () => {
        const names = await cluster.keysUnder(clusterKeys.participantsPrefix(JOB))
        return names.some((k) => k.endsWith('/alpha.json')) && names.some((k) => k.endsWith('/beta.json'))
      })
      const ownerOfT1 = async () => {
        const names = await cluster.keysUnder(clusterKeys.ownersPrefix(JOB, 't1'))
        return names.length ? (await cluster.read<{node: string}>(names.at(-1)!))?.node : undefined
      }
      assert.equal(await cluster.waitFor("t1's owner record", ownerOfT1), 'alpha')

      // Same job file, another node, alpha's task t1.
      const twice = cluster.start('zeta', {taskIds: ['t1']})
      const refused = await Promise.race([
        twice.result,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`zeta, claiming alpha's t1, still runs after 30 s\n${twice.tail()}`)), 30_000)),
      ])
      assert.equal(refused.code, 1, `zeta claiming t1: exit ${refused.code}\n${refused.stderr}`)
      // Under --json the message is the error document's on stdout (docs/CONTRACT.md).
      const why = refused.json?.error?.message ?? ''
      assert.match(why, /alpha/, `the refusal names the node that runs t1: ${refused.stdout}`)
      assert.match(why, new RegExp(`\\b${alpha.pid}\\b`), `the refusal names alpha's pid ${alpha.pid}: ${refused.stdout}`)
      assert.equal(refused.json?.error?.code, 'TASK_OWNED', refused.stdout)
      assert.equal(await ownerOfT1(), 'alpha', 'the refused participant took no ownership')

      // A second machine under a live participant's node name.
      const sameName = cluster.start('alpha', {folder: 'alpha-elsewhere'})
      const named = await Promise.race([sameName.result, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`a second alpha still runs after 30 s\n${sameName.tail()}`)), 30_000))])
      assert.equal(named.code, 1, `a second alpha: exit ${named.code}\n${named.stdout}\n${named.stderr}`)
      assert.equal(named.json?.error?.code, 'TASK_OWNED', named.stdout)
      assert.match(named.json?.error?.message ?? '', new RegExp(`\\b${alpha.pid}\\b`), `the refusal names alpha's pid ${alpha.pid}: ${named.stdout}`)
      assert.equal(await ownerOfT1(), 'alpha')

      // Another job file: t4 assigned to node epsilon instead of gamma (same task ids), or format 1.
      const movedT4 = cluster.jobDoc(TASKS.map((t) => (t.id === 't4' ? {...t, node: 'epsilon'} : t)))
      const other = cluster.start('epsilon', {doc: movedT4})
      const mismatch = await Promise.race([
        other.result,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`epsilon, with another job file, still runs after 30 s\n${other.tail()}`)), 30_000)),
      ])
      assert.equal(mismatch.code, 2, `epsilon with another task list: exit ${mismatch.code}\n${mismatch.stderr}`)
      assert.equal(mismatch.json?.error?.code, 'JOB_MISMATCH', mismatch.stdout)
      assert.match(mismatch.json?.error?.message ?? '', /alpha|beta/, `the refusal names a participant running the other job file: ${mismatch.stdout}`)

      const format1 = cluster.jobDoc(TASKS, {checkpoint: {format: 1, interval: '1s', grace: 0, timeout: '5s'}})
      const old = cluster.start('gamma', {doc: format1})
      const formatMismatch = await Promise.race([
        old.result,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`gamma, with format 1, still runs after 30 s\n${old.tail()}`)), 30_000)),
      ])
      assert.equal(formatMismatch.code, 2, `gamma with checkpoint.format 1: exit ${formatMismatch.code}\n${formatMismatch.stdout}\n${formatMismatch.stderr}`)

      assert.ok(!alpha.exited && !beta.exited, `the live participants go on:\n${cluster.tails()}`)
    })
  })
})
