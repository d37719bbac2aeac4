// 'ckpt checkpoint prune' through the built CLI: retention, grace, a concurrent take, kill -9.
import assert from 'node:assert/strict'
import {writeFile} from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {keys} from '../../../src/core/format/keys.js'
import {verifyCheckpoints} from '../../../src/core/checkpoint/verify.js'
import {readLocks} from '../../../src/core/lock/records.js'
import {collectCli} from '../../helpers/cli.js'
import {checkpointJob, type CheckpointJob} from '../../helpers/checkpoints.js'
import {primaryKinds} from '../../helpers/primaries.js'
import {FORMAT_1} from '../../helpers/job.js'

const day = 86_400_000
/** Checkpoints made before the killed prune: enough objects that the kill lands mid-way. */
const COUNT = 12
const idsOf = (keyList: string[]) => [...new Set(keyList.map((k) => /(chk-\d+)/.exec(k)?.[1]).filter(Boolean))].sort()

async function backdate(j: CheckpointJob, id: string, ageMs: number): Promise<void> {
  const m = await j.manifest(id)
  m.createdAt = new Date(Date.now() - ageMs).toISOString()
  await j.ctx.primary.put(keys.manifest(j.ctx.job.name, id), Buffer.from(JSON.stringify(m)))
}

for (const kind of primaryKinds) {
  describe(`ckpt checkpoint prune on the ${kind.name} store`, () => {
    before(() => kind.setup())
    after(() => kind.teardown())

    it('keeps exactly the newest --retain and those within --keep-within; --dry-run changes nothing', async () => {
      const j = await checkpointJob(kind, {extra: FORMAT_1})
      try {
        await j.take(5)
        for (const [id, age] of [
          ['chk-1', 10 * day],
          ['chk-2', 5 * day],
          ['chk-3', 2 * day],
          ['chk-4', 3600_000],
        ] as const)
          await backdate(j, id, age)
        const before = await j.keys()
        const dry = await j.ckpt(['checkpoint', 'prune', '--retain', '1', '--keep-within', '3d', '--dry-run'])
        assert.equal(dry.code, 0, dry.stderr)
        assert.deepEqual([dry.json.dryRun, dry.json.kept, dry.json.removed], [true, ['chk-3', 'chk-4', 'chk-5'], ['chk-1', 'chk-2']])
        assert.deepEqual(await j.keys(), before)
        const kept = await j.ckpt(['checkpoint', 'prune', '--retain', '2', '--keep-within', '3d'])
        assert.deepEqual(
          [kept.json.kept, kept.json.removed],
          [
            ['chk-3', 'chk-4', 'chk-5'],
            ['chk-1', 'chk-2'],
          ],
        )
        assert.deepEqual(idsOf(await j.keys()), ['chk-3', 'chk-4', 'chk-5'])
        const byDefault = await j.ckpt(['checkpoint', 'prune'])
        assert.deepEqual(byDefault.json.removed, [], 'the job file default keeps 3')
        const one = await j.ckpt(['checkpoint', 'prune', '--retain', '1'])
        assert.deepEqual([one.json.kept, one.json.removed], [['chk-5'], ['chk-3', 'chk-4']])
        const job = j.ctx.job.name
        assert.deepEqual(
          await j.keys(),
          [
            `${job}/job.json`,
            keys.claim(job, 'chk-5'),
            keys.archive(job, 'chk-5', 'alpha'),
            keys.index(job, 'chk-5', 'alpha'),
            keys.archive(job, 'chk-5', 'beta'),
            keys.index(job, 'chk-5', 'beta'),
            keys.manifest(job, 'chk-5'),
          ].sort(),
        )
        assert.equal((await verifyCheckpoints(j.ctx, {all: true, data: {kind: 'all'}})).ok, true)
      } finally {
        await j.cleanup()
      }
    })

    it('removes incomplete leftovers only past the grace period, keeps the highest claim, and ids are never reused', async () => {
      const j = await checkpointJob(kind, {extra: FORMAT_1})
      try {
        const job = j.ctx.job.name
        await j.take(1)
        await j.ctx.primary.put(keys.claim(job, 'chk-2'), Buffer.from('{}'))
        await j.ctx.primary.put(keys.archive(job, 'chk-2', 'alpha'), Buffer.from('half a tar'))
        await j.take(1)
        const young = await j.ckpt(['checkpoint', 'prune'])
        assert.deepEqual([young.json.kept, young.json.removed], [['chk-1', 'chk-2', 'chk-3'], []])
        await j.ctx.primary.put(keys.claim(job, 'chk-4'), Buffer.from('{}'))
        const old = await j.ckpt(['checkpoint', 'prune', '--grace', '0', '--retain', '1'])
        assert.deepEqual(
          [old.json.kept, old.json.removed],
          [
            ['chk-3', 'chk-4'],
            ['chk-1', 'chk-2'],
          ],
        )
        assert.match(old.json.checkpoints.find((c: any) => c.checkpointId === 'chk-4').reason, /take may be in progress/)
        assert.deepEqual(idsOf(await j.keys()), ['chk-3', 'chk-4'])
        assert.deepEqual(await j.take(1), ['chk-5'])
      } finally {
        await j.cleanup()
      }
    })

    it('waits for a running take and never touches its objects', async () => {
      // The snapshot waits for the file GATE names (none given: "/", there already).
      const j = await checkpointJob(kind, {extra: FORMAT_1, snapshot: 'while [ ! -e "${GATE:-/}" ]; do sleep 0.1; done; cp -R "$CKPT_STATE_DIR/." "$CKPT_SNAPSHOT_DIR/"'})
      try {
        await j.take(3)
        // The take holds its lock until the gate opens, however late each prune process starts on a loaded machine.
        const gate = path.join(j.dir, 'gate')
        const take = j.start(['checkpoint', 'take'], {GATE: gate})
        const taking = collectCli(take)
        while ((await readLocks(j.ctx.primary, j.ctx.job.name)).length === 0) await sleep(25)
        const impatient = await j.ckpt(['checkpoint', 'prune', '--retain', '1', '--grace', '0', '--lock-wait', '200ms'])
        assert.equal(impatient.code, 1)
        assert.equal(impatient.json.error.code, 'LOCKED')
        assert.match(impatient.json.error.message, /shared lock for take held by pid \d+/)
        const pruning = j.ckpt(['checkpoint', 'prune', '--retain', '1', '--grace', '0'])
        const deadline = Date.now() + 60_000
        while (!(await readLocks(j.ctx.primary, j.ctx.job.name)).some((l) => l.mode === 'exclusive')) {
          assert.ok(Date.now() < deadline, 'the patient prune never asked for its lock')
          await sleep(25)
        }
        await writeFile(gate, '')
        const prune = await pruning
        const took = await taking
        assert.equal(took.code, 0, took.stderr)
        assert.equal(took.json.checkpointId, 'chk-4')
        assert.equal(prune.code, 0, prune.stderr)
        assert.deepEqual([prune.json.kept, prune.json.removed], [['chk-4'], ['chk-1', 'chk-2', 'chk-3']], 'the prune ran after the take committed')
        const verify = await verifyCheckpoints(j.ctx, {ids: ['chk-4'], data: {kind: 'all'}})
        assert.equal(verify.ok, true, JSON.stringify(verify))
      } finally {
        await j.cleanup()
      }
    })

    it('leaves no completed checkpoint with missing data when killed with SIGKILL, and a re-run finishes', async () => {
      const j = await checkpointJob(kind, {extra: FORMAT_1})
      try {
        const job = j.ctx.job.name
        await j.take(COUNT)
        const child = j.start(['checkpoint', 'prune', '--retain', '1'])
        const done = collectCli(child)
        // Throttle the child with SIGSTOP/SIGCONT and look at the store only while it is stopped.
        let killed = false
        for (let slice = 0; slice < 4000 && !killed; slice++) {
          child.kill('SIGCONT')
          await sleep(4)
          child.kill('SIGSTOP')
          const manifests = (await j.keys()).filter((k) => k.startsWith(keys.manifestsPrefix(job))).length
          if (child.exitCode !== null || child.signalCode !== null) break
          if (manifests < COUNT) {
            child.kill('SIGKILL')
            killed = true
          }
        }
        const result = await done
        assert.equal(result.signal, 'SIGKILL', `killed mid-way (stdout ${result.stdout})`)
        const midway = await j.keys()
        assert.ok(
          midway.some((k) => k.startsWith(`${job}/pruning/`)),
          'the kill interrupted the prune',
        )
        const check = await verifyCheckpoints(j.ctx, {all: true, onWarning: () => {}})
        assert.equal(check.ok, true, `every completed checkpoint still has all its data: ${JSON.stringify(check.checkpoints.filter((c) => !c.ok))}`)
        const rerun = await j.ckpt(['checkpoint', 'prune', '--retain', '1'])
        assert.equal(rerun.code, 0, rerun.stderr)
        assert.deepEqual(rerun.json.kept, [`chk-${COUNT}`])
        assert.deepEqual(idsOf(await j.keys()), [`chk-${COUNT}`])
        assert.ok(!(await j.keys()).some((k) => k.includes('/pruning/') || k.includes('/locks/')))
      } finally {
        await j.cleanup()
      }
    })
  })
}
