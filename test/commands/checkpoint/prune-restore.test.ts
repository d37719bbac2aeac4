// After prune and a lost pack, format 2 through the built CLI on both stores: every kept id
// restores byte for byte from the primary (--prefer remote), and with one shared pack deleted,
// verify names every checkpoint needing it and a restore falls back past all of them.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {keys} from '../../../src/core/format/keys.js'
import {getBuffer} from '../../../src/core/stores/store.js'
import {checkpointJob, type CheckpointJob} from '../../helpers/checkpoints.js'
import {primaryKinds} from '../../helpers/primaries.js'
import {stateFiles} from '../../helpers/hand-format2.js'
import {takeRound, type Files} from '../../helpers/state-rounds.js'

const TASKS = ['alpha', 'beta']

const restoredFiles = (j: CheckpointJob) => stateFiles(Object.fromEntries(TASKS.map((t) => [t, j.state(t)])))

/** The pack that holds chunk 0 of alpha's big.bin in checkpoint id. */
async function bigPack(j: CheckpointJob, id: string): Promise<string> {
  const index = JSON.parse((await getBuffer(j.ctx.primary, keys.index(j.ctx.job.name, id as never, 'alpha'))).toString())
  return index.packs[index.entries.find((e: any) => e.path === 'big.bin').blobs[0][0]].id
}

for (const kind of primaryKinds) {
  describe(`restore after prune, format 2, on the ${kind.name} store`, () => {
    before(() => kind.setup())
    after(() => kind.teardown())

    it('restores every kept id byte for byte from the primary after a prune', async () => {
      const j = await checkpointJob(kind, {tasks: TASKS, extra: {checkpoint: {format: 2}}})
      try {
        const taken = new Map<string, Files>()
        for (let r = 1; r <= 5; r++) {
          const {id, files} = await takeRound(j, TASKS, r)
          taken.set(id, files)
        }
        const prune = await j.ckpt(['checkpoint', 'prune', '--retain', '3', '--grace', '0'])
        assert.equal(prune.code, 0, prune.stderr)
        assert.deepEqual(prune.json.kept, ['chk-3', 'chk-4', 'chk-5'])
        assert.ok(prune.json.objects.packsDeleted >= 1)
        for (const id of prune.json.kept) {
          const restore = await j.ckpt(['restore', id, '--prefer', 'remote'])
          assert.equal(restore.code, 0, restore.stderr)
          assert.equal(restore.json.checkpointId, id)
          assert.deepEqual(await restoredFiles(j), taken.get(id), `${id} byte for byte`)
        }
      } finally {
        await j.cleanup()
      }
    })

    it('one shared pack deleted: verify names every checkpoint needing it, and restore falls back past all of them', async () => {
      const j = await checkpointJob(kind, {tasks: TASKS, extra: {checkpoint: {format: 2}}})
      try {
        const first = await takeRound(j, TASKS, 1)
        // From chk-2 on, alpha's big.bin is new content that chk-2, chk-3 and chk-4 share.
        for (const t of TASKS) await fs.writeFile(path.join(j.state(t), 'big.bin'), randomBytes(3 << 20))
        for (let r = 2; r <= 4; r++) await takeRound(j, TASKS, r)
        const pack = await bigPack(j, 'chk-4')
        assert.equal(await bigPack(j, 'chk-2'), pack)
        assert.notEqual(await bigPack(j, 'chk-1'), pack)
        await j.ctx.primary.delete(keys.pack(j.ctx.job.name, pack))
        const verify = await j.ckpt(['checkpoint', 'verify', '--all'])
        assert.equal(verify.code, 3)
        assert.deepEqual(
          verify.json.checkpoints.map((c: any) => [c.checkpointId, c.ok]),
          [
            ['chk-1', true],
            ['chk-2', false],
            ['chk-3', false],
            ['chk-4', false],
          ],
        )
        const missing = verify.json.checkpoints[3].problems.find((p: any) => p.object === keys.pack(j.ctx.job.name, pack))
        assert.deepEqual(missing.alsoBreaks, ['chk-2', 'chk-3'])
        const restore = await j.ckpt(['restore', '--prefer', 'remote'])
        assert.equal(restore.code, 0, restore.stderr)
        assert.equal(restore.json.checkpointId, 'chk-1', 'fell back past chk-4, chk-3 and chk-2')
        assert.deepEqual(await restoredFiles(j), first.files)
      } finally {
        await j.cleanup()
      }
    })
  })
}
