// 'ckpt checkpoint verify' of format 2 through the built CLI on both stores: one shared pack
// deleted fails every checkpoint that needs it (exit 3), each naming the others (alsoBreaks);
// --read-data with one flipped byte names the file and every checkpoint using the blob.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {keys} from '../../../src/core/format/keys.js'
import {getBuffer} from '../../../src/core/stores/store.js'
import {runCli} from '../../helpers/cli.js'
import {checkpointJob, type CheckpointJob} from '../../helpers/checkpoints.js'
import {primaryKinds} from '../../helpers/primaries.js'
import {takeRound} from '../../helpers/state-rounds.js'

const TASKS = ['alpha', 'beta']

/** Where chunk 0 of alpha's big.bin lies (a blob every checkpoint of the chain shares). */
async function sharedBlob(j: CheckpointJob, id: string): Promise<{pack: string; offset: number}> {
  const index = JSON.parse((await getBuffer(j.ctx.primary, keys.index(j.ctx.job.name, id as never, 'alpha'))).toString())
  const [ordinal, offset] = index.entries.find((e: any) => e.path === 'big.bin').blobs[0]
  return {pack: index.packs[ordinal].id, offset}
}

for (const kind of primaryKinds) {
  describe(`checkpoint verify of format 2 on the ${kind.name} store`, () => {
    before(() => kind.setup())
    after(() => kind.teardown())

    it('a deleted shared pack fails every checkpoint needing it, each naming the others', async () => {
      const j = await checkpointJob(kind, {tasks: TASKS, extra: {checkpoint: {format: 2}}})
      try {
        for (let r = 1; r <= 3; r++) await takeRound(j, TASKS, r)
        const {pack} = await sharedBlob(j, 'chk-3')
        const key = keys.pack(j.ctx.job.name, pack)
        await j.ctx.primary.delete(key)
        const result = await j.ckpt(['checkpoint', 'verify', '--all'])
        assert.equal(result.code, 3, result.stdout)
        for (const c of result.json.checkpoints) {
          assert.equal(c.ok, false, c.checkpointId)
          const p = c.problems.find((x: any) => x.object === key)
          assert.ok(p, JSON.stringify(c.problems))
          assert.match(p.problem, new RegExp(`pack ${pack} is missing`))
          assert.deepEqual(
            p.alsoBreaks,
            ['chk-1', 'chk-2', 'chk-3'].filter((id) => id !== c.checkpointId),
          )
        }
        const table = await runCli(['checkpoint', 'verify', 'chk-2'], {cwd: j.dir, env: j.target.env})
        assert.equal(table.code, 3)
        assert.match(table.stdout.replace(/\s+/g, ' '), /is missing \(also breaks chk-1, chk-3\)/)
      } finally {
        await j.cleanup()
      }
    })

    it('--read-data with a flipped byte names the file and every checkpoint using it', async () => {
      const j = await checkpointJob(kind, {tasks: TASKS, extra: {checkpoint: {format: 2}}})
      try {
        for (let r = 1; r <= 3; r++) await takeRound(j, TASKS, r)
        const {pack, offset} = await sharedBlob(j, 'chk-3')
        const key = keys.pack(j.ctx.job.name, pack)
        const bytes = await getBuffer(j.ctx.primary, key)
        bytes[offset + 1000] ^= 0x40
        await j.ctx.primary.put(key, bytes)
        assert.equal((await j.ckpt(['checkpoint', 'verify', '--all'])).code, 0, 'sizes alone cannot see it')
        const result = await j.ckpt(['checkpoint', 'verify', 'chk-3', '--read-data'])
        assert.equal(result.code, 3, result.stdout)
        const problems = result.json.checkpoints[0].problems
        assert.ok(
          problems.some((p: any) => p.object === key && /not its name/.test(p.problem)),
          JSON.stringify(problems),
        )
        const bad = problems.filter((p: any) => p.file)
        assert.deepEqual(
          bad.map((p: any) => [p.taskId, p.file]),
          [['alpha', 'big.bin']],
        )
        assert.deepEqual(bad[0].alsoBreaks, ['chk-1', 'chk-2'])
        assert.deepEqual(
          bad[0].usedBy,
          ['chk-1', 'chk-2', 'chk-3'].map((checkpointId) => ({checkpointId, taskId: 'alpha', file: 'big.bin'})),
        )
      } finally {
        await j.cleanup()
      }
    })
  })
}
