// 'ckpt checkpoint list' of format 2 through the built CLI: per checkpoint its format and what it
// added (the sum of its tasks' addedBytes), and an aborted id as incomplete with aborted: true.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {runCli} from '../../helpers/cli.js'
import {checkpointJob} from '../../helpers/checkpoints.js'
import {fileKind} from '../../helpers/primaries.js'
import {HandWriter} from '../../helpers/hand-format2.js'
import {takeRound} from '../../helpers/state-rounds.js'

describe('checkpoint list of format 2', () => {
  it('shows format, size and added per checkpoint, and an aborted id as incomplete (aborted)', async () => {
    const j = await checkpointJob(fileKind, {tasks: ['alpha', 'beta'], extra: {checkpoint: {format: 2}}})
    try {
      await takeRound(j, ['alpha', 'beta'], 1)
      await takeRound(j, ['alpha', 'beta'], 2)
      await new HandWriter(j.ctx.primary, j.ctx.job.name).abort('chk-3', 'took longer than half the grace period')
      const list = await j.ckpt(['checkpoint', 'list'])
      assert.equal(list.code, 0, list.stderr)
      const [one, two, three] = list.json.checkpoints
      const added = async (id: string) => (await j.manifest(id)).tasks.reduce((sum: number, t: any) => sum + t.addedBytes, 0)
      assert.deepEqual([one.format, one.addedBytes, one.bytes], [2, await added('chk-1'), one.bytes])
      assert.ok(one.addedBytes >= 6 << 20, 'the first take adds everything')
      assert.equal(two.addedBytes, await added('chk-2'))
      assert.ok(two.addedBytes < two.bytes / 2, `chk-2 added ${two.addedBytes} of ${two.bytes}`)
      assert.deepEqual([three.checkpointId, three.status, three.aborted, three.format], ['chk-3', 'incomplete', true, 2])
      const table = await runCli(['checkpoint', 'list'], {cwd: j.dir, env: j.target.env})
      assert.equal(table.code, 0)
      assert.match(table.stdout, /size\s+added/)
      assert.match(table.stdout, /chk-3\s+incomplete \(aborted\)/)
    } finally {
      await j.cleanup()
    }
  })
})
