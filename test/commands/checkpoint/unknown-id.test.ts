// One check for a checkpoint id that is unknown or not completed: every command that resolves
// `ID|latest` refuses it the same way (exit 2, error code USAGE), naming the id and the fix.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {keys} from '../../../src/core/format/keys.js'
import {checkpointJob, type CheckpointJob} from '../../helpers/checkpoints.js'
import {fileKind} from '../../helpers/primaries.js'

describe('a checkpoint id that is unknown or not completed', () => {
  let j: CheckpointJob
  before(async () => {
    j = await checkpointJob(fileKind)
    await j.take(2)
    // chk-3: claimed, never committed.
    await j.ctx.primary.put(keys.claim(j.ctx.job.name, 'chk-3' as never), Buffer.from('{}'))
  })
  after(async () => {
    await j?.cleanup()
  })

  for (const id of ['chk-99', 'chk-3']) {
    it(`${id}: 'checkpoint show' and 'restore' exit 2 with error code USAGE, naming the id and 'ckpt checkpoint list'`, async () => {
      const show = await j.ckpt(['checkpoint', 'show', id])
      const restore = await j.ckpt(['restore', id])
      for (const [command, result] of [
        ['checkpoint show', show],
        ['restore', restore],
      ] as const) {
        assert.equal(result.code, 2, `${command} ${id}: ${result.stdout}${result.stderr}`)
        assert.equal(result.json.error.exit, 2, command)
        assert.equal(result.json.error.code, 'USAGE', command)
        assert.match(result.json.error.message, new RegExp(`checkpoint ${id}\\b.*'ckpt checkpoint list'`), command)
      }
      assert.deepEqual(show.json.error, restore.json.error, 'the same check gives the same document')
    })
  }

  it('an id not of the form chk-N is refused the same way by both', async () => {
    const show = await j.ckpt(['checkpoint', 'show', 'seven'])
    const restore = await j.ckpt(['restore', 'seven'])
    assert.equal(show.code, 2)
    assert.equal(restore.code, 2)
    assert.deepEqual(show.json.error, restore.json.error)
  })
})
