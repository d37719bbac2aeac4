// Issue 13, no reuse from a failed take (FLINK-25395): a take killed (or failing) after it put some
// packs leaves them behind; the next take may reference only packs of completed checkpoints and its own, and
// after `prune --grace 0` the failed attempt's packs are gone and every checkpoint still restores.
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {checkTaken, format2Job, restoreAndCheck, track, JOB, MiB, type Format2Job} from '../helpers/format2-e2e.js'
import {seedState, seeded, type Rng} from '../helpers/format2-changes.js'
import {fileKind, primaryKinds} from '../helpers/primaries.js'

/** Starts a take and kills it with SIGKILL as soon as a pack that was not there before appears. */
async function killAtFirstNewPack(job: Format2Job): Promise<Set<string>> {
  const before = new Set((await job.packs()).keys())
  const take = track(job.start(['checkpoint', 'take']))
  const deadline = Date.now() + 60_000
  for (;;) {
    const fresh = [...(await job.packs()).keys()].filter((p) => !before.has(p))
    if (fresh.length > 0) break
    if (take.child.exitCode !== null) assert.fail(`the take ended before any new pack appeared (make the new state bigger): ${(await take.done).stderr}`)
    if (Date.now() > deadline) assert.fail('no new pack appeared within 60 s')
    await sleep(10)
  }
  const killed = await take.kill9()
  assert.equal(killed.signal, 'SIGKILL', `the take was still running: ${killed.stdout}`)
  return new Set([...(await job.packs()).keys()].filter((p) => !before.has(p)))
}

/** Packs that `fail` left behind (a take that did not complete); the job's task alpha holds the new bytes. */
type Failure = (job: Format2Job) => Promise<Set<string>>

/** Makes a take fail after it put packs, takes again, and checks what the retake names; then prune and restore. */
async function noReuseScenario(job: Format2Job, rng: Rng, fail: Failure): Promise<void> {
  const state = job.state('alpha')
  // a-first.bin comes first in walk order, so rewriting it shifts every later blob's place in
  // the packs: the retake cannot build a pack byte-identical to one of the failed attempt.
  await fs.writeFile(path.join(state, 'a-first.bin'), rng.bytes(MiB))
  await seedState(state, rng, {bigBytes: 2 * MiB})
  const first = await job.digests()
  assert.equal((await job.take()).checkpointId, 'chk-1')
  const named1 = await job.packsNamedBy('chk-1')

  await fs.writeFile(path.join(state, 'zz-new.bin'), rng.bytes(40 * MiB))
  const failed = await fail(job)
  assert.ok(failed.size > 0, 'the failed take put packs')
  assert.equal(await job.manifest('chk-2'), undefined, 'the failed take did not commit')

  await fs.writeFile(path.join(state, 'a-first.bin'), rng.bytes(MiB))
  const beforeRetake = new Set((await job.packs()).keys())
  const third = await job.digests()
  const retake = await job.take()
  assert.equal(retake.checkpointId, 'chk-3')
  const own = [...(await job.packs()).keys()].filter((p) => !beforeRetake.has(p))
  for (const p of await job.packsNamedBy('chk-3')) {
    assert.ok(!failed.has(p), `chk-3 names pack ${p}, written by the failed attempt chk-2 (FLINK-25395)`)
    assert.ok(named1.has(p) || own.includes(p), `chk-3 names pack ${p}, which neither chk-1 names nor chk-3 wrote`)
  }
  await checkTaken(job, 'chk-1', first)
  await checkTaken(job, 'chk-3', third)

  const prune = await job.ckpt(['checkpoint', 'prune', '--grace', '0'])
  assert.equal(prune.code, 0, `${prune.stdout}${prune.stderr}`)
  const left = new Set((await job.packs()).keys())
  for (const p of failed) assert.ok(!left.has(p), `prune --grace 0 left pack ${p} of the failed attempt`)
  for (const id of ['chk-1', 'chk-3']) for (const p of await job.packsNamedBy(id)) assert.ok(left.has(p), `prune removed pack ${p} that ${id} names`)
  await restoreAndCheck(job, 'chk-1', first, 'remote')
  await restoreAndCheck(job, 'chk-3', third, 'remote')
  await restoreAndCheck(job, 'chk-1', first, 'local')
}

for (const [k, kind] of primaryKinds.entries()) {
  describe(`no reuse from a failed format-2 take on the ${kind.name} store`, () => {
    before(() => kind.setup())
    after(() => kind.teardown())

    it('a take killed after its first pack: the next take names only packs of completed checkpoints or its own; prune --grace 0 collects the rest', async () => {
      const job = await format2Job(kind, {tasks: ['alpha']})
      try {
        await noReuseScenario(job, seeded(700 + k), killAtFirstNewPack)
      } finally {
        await job.cleanup()
      }
    })
  })
}

describe('no reuse from a failed format-2 take (file store, a failing task)', () => {
  it('a take that fails (a snapshot command exits 1 once packs are put): the same rules hold', async () => {
    // The snapshot command of task zfail fails while JOBDIR/fail exists, once the primary holds
    // more packs than the number in it: task alpha of the same take has put some by then.
    const jobDir = '"$CKPT_STATE_DIR/../.."'
    const packs = `find ${jobDir}/primary/${JOB}/packs -type f -regextype egrep -regex '.*/[0-9a-f]{64}' 2>/dev/null | wc -l`
    const fail = `if [ -e ${jobDir}/fail ]; then for i in $(seq 400); do [ $(${packs}) -gt $(cat ${jobDir}/fail) ] && exit 1; sleep 0.05; done; exit 1; fi`
    const snapshot = `${fail}; cp -R "$CKPT_STATE_DIR/." "$CKPT_SNAPSHOT_DIR/"`
    const job = await format2Job(fileKind, {tasks: ['alpha', {id: 'zfail', snapshot: {command: snapshot}}]})
    try {
      await fs.writeFile(path.join(job.state('zfail'), 'rows'), 'zfail rows\n')
      await noReuseScenario(job, seeded(750), async () => {
        const before = new Set((await job.packs()).keys())
        await fs.writeFile(path.join(job.dir, 'fail'), String(before.size))
        const take = await job.ckpt(['checkpoint', 'take'])
        await fs.rm(path.join(job.dir, 'fail'))
        assert.equal(take.code, 1, `the take fails: ${take.stdout}${take.stderr}`)
        assert.match(take.json.error.message, /zfail/)
        return new Set([...(await job.packs()).keys()].filter((p) => !before.has(p)))
      })
    } finally {
      await job.cleanup()
    }
  })
})
