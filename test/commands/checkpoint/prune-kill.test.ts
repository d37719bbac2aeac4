// kill -9 of 'ckpt checkpoint prune' of format 2 at random moments (seeded: CKPT_TEST_SEED, default
// 13): after each kill every completed checkpoint is whole byte for byte and a take works (it takes
// the dead prune's lock over); the next prune finishes the job and leaves only the packs kept
// checkpoints name.
import assert from 'node:assert/strict'
import {setTimeout as sleep} from 'node:timers/promises'
import {describe, it} from 'node:test'
import {listCheckpoints} from '../../../src/core/catalogue/listing.js'
import {collectCli} from '../../helpers/cli.js'
import {checkpointJob} from '../../helpers/checkpoints.js'
import {fileKind} from '../../helpers/primaries.js'
import {packsNamedBy, rebuildFiles, seeded, storedPacks} from '../../helpers/hand-format2.js'
import {takeRound, type Files} from '../../helpers/state-rounds.js'

const TASKS = ['alpha', 'beta']
const SEED = Number(process.env.CKPT_TEST_SEED ?? 13)
const KILLS = 10

describe('kill -9 of a format-2 prune', () => {
  it(`leaves every completed checkpoint whole, and the next prune collects the rest (seed ${SEED})`, {timeout: 600_000}, async (t) => {
    const random = seeded(SEED)
    const j = await checkpointJob(fileKind, {tasks: TASKS, extra: {checkpoint: {format: 2}}})
    const job = j.ctx.job.name
    const taken = new Map<string, Files>()
    let round = 0
    const take = async () => {
      const {id, files} = await takeRound(j, TASKS, ++round)
      taken.set(id, files)
    }
    const whole = async (when: string) => {
      const completed = (await listCheckpoints(j.ctx)).checkpoints.filter((c) => c.status === 'completed').map((c) => c.checkpointId)
      assert.ok(completed.length >= 1, when)
      for (const id of completed) assert.deepEqual(await rebuildFiles(j.ctx.primary, job, id), taken.get(id), `${id} byte for byte ${when}`)
    }
    try {
      for (let i = 0; i < 6; i++) await take()
      let killed = 0
      let midway = 0
      for (let k = 0; k < KILLS; k++) {
        // From the start of the CLI (about 0.3 s) to past the end of a prune on a quiet machine.
        const delay = Math.floor(150 + random() * 650)
        const child = j.start(['checkpoint', 'prune', '--retain', '1', '--grace', '0'])
        const done = collectCli(child)
        await sleep(delay)
        child.kill('SIGKILL')
        const result = await done
        if (result.signal === 'SIGKILL') killed++
        else assert.equal(result.code, 0, result.stderr)
        const left = (await j.keys()).filter((key) => key.includes('/pruning/') || key.includes('/locks/'))
        if (left.length > 0) midway++
        await whole(`after a prune killed at ${delay} ms (seed ${SEED}, kill ${k})`)
        await take()
        await take()
      }
      t.diagnostic(`${killed} of ${KILLS} prunes killed, ${midway} leaving a lock or pruning markers behind`)
      assert.ok(killed >= 3, `only ${killed} of ${KILLS} prunes were killed before they ended (seed ${SEED})`)
      await sleep(50)
      const last = await j.ckpt(['checkpoint', 'prune', '--retain', '1', '--grace', '0'])
      assert.equal(last.code, 0, last.stderr)
      await whole('after the last prune')
      const live = await packsNamedBy(j.ctx.primary, job, last.json.kept)
      assert.deepEqual([...(await storedPacks(j.ctx.primary, job))].sort(), [...live].sort(), 'the next prune collects every pack the killed ones left')
      const verify = await j.ckpt(['checkpoint', 'verify', '--all', '--read-data'])
      assert.equal(verify.code, 0, verify.stdout)
    } finally {
      await j.cleanup()
    }
  })
})
