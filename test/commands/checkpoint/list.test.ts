// 'ckpt checkpoint list' as a checkpoint history (issue 15 item 7): per checkpoint its duration,
// its size and what it added; an old manifest without times shows "-".
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {keys} from '../../../src/core/format/keys.js'
import {runCli} from '../../helpers/cli.js'
import {checkpointJob} from '../../helpers/checkpoints.js'
import {primaryKinds} from '../../helpers/primaries.js'
import {FORMAT_1} from '../../helpers/job.js'

const kind = primaryKinds.find((k) => k.name === 'file')!

describe('ckpt checkpoint list history', () => {
  before(() => kind.setup())
  after(() => kind.teardown())

  it('shows duration, size and added bytes per checkpoint; --json adds durationMs, completedAt and addedBytes', async () => {
    const j = await checkpointJob(kind, {extra: FORMAT_1})
    try {
      await j.take(2)
      // A manifest from before the times were kept: no completedAt.
      const old = await j.manifest('chk-1')
      delete old.completedAt
      await j.ctx.primary.put(keys.manifest(j.ctx.job.name, 'chk-1'), Buffer.from(JSON.stringify(old)))
      const listed = await j.ckpt(['checkpoint', 'list'])
      assert.equal(listed.code, 0, listed.stderr)
      const [first, second] = listed.json.checkpoints
      const m2 = await j.manifest('chk-2')
      assert.equal(second.durationMs, Date.parse(m2.completedAt) - Date.parse(m2.createdAt))
      assert.equal(second.completedAt, m2.completedAt)
      assert.ok(second.bytes > 0)
      assert.equal(second.addedBytes, second.bytes, 'format 1: every checkpoint stores the whole state')
      assert.equal(first.durationMs, undefined)
      assert.equal(first.addedBytes, first.bytes)
      for (const field of ['checkpointId', 'status', 'createdAt', 'tasks', 'bytes']) assert.ok(field in first, field)
      const human = await runCli(['checkpoint', 'list'], {cwd: j.dir, env: {...j.target.env, COLUMNS: '160'}})
      assert.equal(human.code, 0, human.stderr)
      assert.match(human.stdout, /checkpoint\s+status\s+created\s+took\s+tasks\s+size\s+added/)
      assert.match(human.stdout, /chk-1\s+completed\s+\S+\s+-\s+2\s/)
      assert.match(human.stdout, /chk-2\s+completed\s+\S+\s+\d+(\.\d+)?\s*(ms|s)\s+2\s/)
    } finally {
      await j.cleanup()
    }
  })
})
