// Job locks against real stores: sharing, exclusion, races, stale takeover and unlock.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {hostname} from 'node:os'
import {after, before, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {LockedError} from '../../../src/core/errors.js'
import {acquireLock, withLock} from '../../../src/core/lock/lock.js'
import {lockKey, readLocks} from '../../../src/core/lock/records.js'
import {unlockJob} from '../../../src/core/lock/unlock.js'
import {checkpointJob, type CheckpointJob} from '../../helpers/checkpoints.js'
import {primaryKinds} from '../../helpers/primaries.js'

function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString())
}

async function plantLock(j: CheckpointJob, lockId: string, fields: Record<string, unknown>): Promise<void> {
  const at = new Date().toISOString()
  const record = {format: 1, lockId, mode: 'exclusive', purpose: 'prune', job: j.ctx.job.name, node: 'other', host: hostname(), pid: process.pid, createdAt: at, refreshedAt: at, ...fields}
  await j.ctx.primary.put(lockKey(j.ctx.job.name, lockId), Buffer.from(JSON.stringify(record)))
}

for (const kind of primaryKinds) {
  describe(`job locks on the ${kind.name} store`, () => {
    let j: CheckpointJob
    before(async () => {
      await kind.setup()
      j = await checkpointJob(kind)
    })
    after(async () => {
      await j?.cleanup()
      await kind.teardown()
    })

    it('lets shared locks go together and keeps an exclusive one out while they are held', async () => {
      const a = await acquireLock(j.ctx, {mode: 'shared', purpose: 'take'})
      const b = await acquireLock(j.ctx, {mode: 'shared', purpose: 'restore', waitMs: 0})
      await assert.rejects(
        acquireLock(j.ctx, {mode: 'exclusive', purpose: 'prune', waitMs: 300}),
        (error: Error) => error instanceof LockedError && /shared lock for (take|restore) held by pid \d+/.test(error.message),
      )
      await a.release()
      await b.release()
      const x = await acquireLock(j.ctx, {mode: 'exclusive', purpose: 'prune', waitMs: 0})
      await assert.rejects(acquireLock(j.ctx, {mode: 'shared', purpose: 'take', waitMs: 200}), LockedError)
      await x.release()
      assert.deepEqual(await readLocks(j.ctx.primary, j.ctx.job.name), [], 'released locks leave nothing behind')
    })

    it('waits for a conflicting lock to go away', async () => {
      const x = await acquireLock(j.ctx, {mode: 'exclusive', purpose: 'prune'})
      setTimeout(() => void x.release(), 400)
      const started = Date.now()
      await withLock(j.ctx, {mode: 'shared', purpose: 'take', waitMs: 10_000}, async () => {})
      assert.ok(Date.now() - started >= 350)
    })

    it('never lets two racing exclusive lockers hold the job at once', async () => {
      let holding = 0
      let most = 0
      await Promise.all(
        Array.from({length: 5}, () =>
          withLock(j.ctx, {mode: 'exclusive', purpose: 'prune', waitMs: 30_000}, async () => {
            most = Math.max(most, ++holding)
            await sleep(30)
            holding--
          }),
        ),
      )
      assert.equal(most, 1)
    })

    it('takes over a lock whose holder is gone or stopped refreshing, with a warning, but not a live one', async () => {
      await plantLock(j, 'exclusive-dead', {pid: Number(deadPid())})
      await plantLock(j, 'exclusive-old', {host: 'elsewhere', refreshedAt: new Date(Date.now() - 2 * 3600_000).toISOString()})
      const warnings: string[] = []
      await withLock(j.ctx, {mode: 'shared', purpose: 'take', waitMs: 0, onWarning: (m) => warnings.push(m)}, async () => {})
      assert.equal(warnings.length, 2, warnings.join('\n'))
      assert.ok(warnings.some((w) => /taking over a stale exclusive lock for prune .* process \d+ on this host .* is gone/.test(w)))
      assert.ok(warnings.some((w) => /not refreshed for 120 minutes/.test(w)))
      await plantLock(j, 'exclusive-live', {host: 'elsewhere'})
      await assert.rejects(
        withLock(j.ctx, {mode: 'shared', purpose: 'take', waitMs: 0}, async () => {}),
        /exclusive lock for prune held by pid \d+ on host elsewhere/,
      )
      await j.ctx.primary.delete(lockKey(j.ctx.job.name, 'exclusive-live'))
    })

    it('unlock removes stale locks after showing whose they were, and live ones only with --all', async () => {
      await plantLock(j, 'shared-dead', {mode: 'shared', purpose: 'take', pid: Number(deadPid())})
      await plantLock(j, 'shared-live', {mode: 'shared', purpose: 'restore', host: 'elsewhere'})
      const dry = await unlockJob(j.ctx, {dryRun: true})
      assert.deepEqual(
        dry.removed.map((l) => l.lockId),
        ['shared-dead'],
      )
      assert.equal((await readLocks(j.ctx.primary, j.ctx.job.name)).length, 2)
      const first = await unlockJob(j.ctx)
      assert.deepEqual([first.removed.map((l) => [l.lockId, l.purpose]), first.kept.map((l) => l.lockId)], [[['shared-dead', 'take']], ['shared-live']])
      assert.match(first.removed[0].stale!, /is gone/)
      const all = await unlockJob(j.ctx, {all: true})
      assert.deepEqual(
        all.removed.map((l) => l.lockId),
        ['shared-live'],
      )
      assert.deepEqual(await readLocks(j.ctx.primary, j.ctx.job.name), [])
    })
  })
}
