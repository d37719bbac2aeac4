// Manifests that lie: one at a checkpoint's key that names another checkpoint or job is corrupt
// (restore falls back with a warning, list shows it broken); one of a newer format is refused.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {keys} from '../../src/core/format/keys.js'
import {runCli} from '../helpers/cli.js'
import {checkpointJob, type CheckpointJob} from '../helpers/checkpoints.js'
import {fileKind} from '../helpers/primaries.js'

async function rewrite(j: CheckpointJob, id: string, change: (m: any) => void): Promise<void> {
  const m = await j.manifest(id)
  change(m)
  await j.ctx.primary.put(keys.manifest(j.ctx.job.name, id), Buffer.from(JSON.stringify(m)))
}

describe('manifests that lie', () => {
  before(() => fileKind.setup())
  after(() => fileKind.teardown())

  for (const [what, change] of [
    ['names another checkpoint', (m: any) => (m.checkpointId = 'chk-1')],
    ['names another job', (m: any) => (m.job = 'other')],
  ] as const) {
    it(`a manifest that ${what} is corrupt: restore falls back with a warning`, async () => {
      const j = await checkpointJob(fileKind, {tasks: ['alpha']})
      try {
        await j.take(2)
        // chk-2's key holds chk-1's manifest (or one of another job): same objects, wrong claim.
        const first = await j.manifest('chk-1')
        await j.ctx.primary.put(keys.manifest(j.ctx.job.name, 'chk-2'), Buffer.from(JSON.stringify(first)))
        if (what === 'names another job') await rewrite(j, 'chk-2', (m) => ((m.checkpointId = 'chk-2'), change(m)))
        const restore = await j.ckpt(['restore', '--prefer', 'remote'])
        assert.equal(restore.code, 0, restore.stdout + restore.stderr)
        assert.equal(restore.json.checkpointId, 'chk-1', 'the lying chk-2 is not restored')
        assert.match(restore.stderr, /chk-2.*names (checkpoint|job).*falling back/s)
        const list = await j.ckpt(['checkpoint', 'list'])
        const chk2 = list.json.checkpoints.find((c: any) => c.checkpointId === 'chk-2')
        assert.equal(chk2.broken, true, JSON.stringify(chk2))
      } finally {
        await j.cleanup()
      }
    })
  }

  it('a manifest of a newer format makes restore refuse with exit 1 and "upgrade ckpt"', async () => {
    const j = await checkpointJob(fileKind, {tasks: ['alpha']})
    try {
      await j.take(2)
      await rewrite(j, 'chk-2', (m) => (m.format = 3))
      const restore = await j.ckpt(['restore'])
      assert.equal(restore.code, 1, restore.stdout + restore.stderr)
      assert.match(restore.json.error.message, /chk-2.*format 3.*upgrade ckpt/)
      const prune = await j.ckpt(['checkpoint', 'prune', '--retain', '1'])
      assert.equal(prune.code, 1, 'prune cannot know what a newer checkpoint references')
      assert.match(prune.json.error.message, /upgrade ckpt/)
      assert.ok(await j.ctx.primary.stat(keys.manifest(j.ctx.job.name, 'chk-1')), 'chk-1 is not pruned')
    } finally {
      await j.cleanup()
    }
  })
})

describe('checkpoint list shows an unreadable manifest as broken', () => {
  before(() => fileKind.setup())
  after(() => fileKind.teardown())

  it('as status completed with broken: true and the reason, and in the table', async () => {
    const j = await checkpointJob(fileKind, {tasks: ['alpha']})
    try {
      await j.take(2)
      await j.ctx.primary.put(keys.manifest(j.ctx.job.name, 'chk-2'), Buffer.from('{"format": 1, "job": "testjob", "checkp'))
      const list = await j.ckpt(['checkpoint', 'list'])
      assert.equal(list.code, 0, list.stderr)
      const [one, two] = list.json.checkpoints
      assert.deepEqual([one.checkpointId, one.status, one.broken, one.problem], ['chk-1', 'completed', undefined, undefined])
      assert.deepEqual([two.checkpointId, two.status, two.broken], ['chk-2', 'completed', true])
      assert.match(two.problem, /not valid JSON/)
      const human = await runCli(['checkpoint', 'list'], {cwd: j.dir, env: j.target.env})
      assert.equal(human.code, 0, human.stderr)
      assert.match(human.stdout, /chk-2\s+broken\s/)
      assert.match(human.stdout, /chk-2 is broken.*not valid JSON/)
    } finally {
      await j.cleanup()
    }
  })
})
