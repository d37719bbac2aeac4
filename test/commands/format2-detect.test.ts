// Issue 13, change detection of format 2 through the built CLI: a same-size rewrite with its mtime
// set back is caught by ctime, a file written in the scan's clock tick is read again (racy), and
// `take --reread` reads every file but uploads nothing new.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {takeCheckpoint} from '../../src/core/checkpoint/take.js'
import {resolveSettings} from '../../src/core/config/settings.js'
import {openJob} from '../../src/core/context.js'
import {checkTaken, format2Job, restoreAndCheck, KiB, MiB, NODE, type Format2Job} from '../helpers/format2-e2e.js'
import {seedState, seeded} from '../helpers/format2-changes.js'
import {primaryKinds} from '../helpers/primaries.js'

/** Sets a file's mtime to exactly `ns` nanoseconds (touch takes nanoseconds; utimes would round). */
function setMtimeNs(file: string, ns: bigint): void {
  execFileSync('touch', ['-m', '-d', `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`, file])
}

/** The take's task record (JSON) for a task. */
const taskOf = (take: any, id: string) => take.tasks.find((t: any) => t.taskId === id)

async function entryOf(job: Format2Job, id: string, task: string, file: string): Promise<any> {
  const entry = (await job.index(id, task)).entries.find((e: any) => e.path === file)
  assert.ok(entry, `${id} has no entry ${file}`)
  return entry
}

for (const [k, kind] of primaryKinds.entries()) {
  describe(`format-2 change detection on the ${kind.name} store`, () => {
    before(() => kind.setup())
    after(() => kind.teardown())

    it('catches a same-size rewrite whose mtime was set back (ctime changed)', async () => {
      const rng = seeded(200 + k)
      const job = await format2Job(kind, {tasks: ['alpha']})
      try {
        const file = path.join(job.state('alpha'), 'db.bin')
        await seedState(job.state('alpha'), rng, {bigBytes: MiB})
        const oldBytes = rng.bytes(256 * KiB)
        await fs.writeFile(file, oldBytes)
        await sleep(1100) // past the racy window: only the stamps can catch the rewrite
        const first = await job.digests()
        assert.equal((await job.take()).checkpointId, 'chk-1')
        assert.equal((await entryOf(job, 'chk-1', 'alpha', 'db.bin')).racy, undefined, 'db.bin was written long before the scan')
        const old = await fs.lstat(file, {bigint: true})
        const handle = await fs.open(file, 'r+')
        await handle.write(rng.bytes(256 * KiB), 0, 256 * KiB, 0)
        await handle.close()
        setMtimeNs(file, old.mtimeNs)
        const now = await fs.lstat(file, {bigint: true})
        assert.deepEqual([now.size, now.mtimeNs, now.ino, now.dev], [old.size, old.mtimeNs, old.ino, old.dev], 'only ctime tells the rewrite')
        assert.notEqual(now.ctimeNs, old.ctimeNs)
        const second = await job.digests()
        const take = await job.take()
        assert.equal(taskOf(take, 'alpha').changedFiles, 1, `only db.bin changed: ${JSON.stringify(take)}`)
        assert.ok(take.uploadedBytes >= 256 * KiB, `the new bytes of db.bin are uploaded (${take.uploadedBytes})`)
        await checkTaken(job, 'chk-1', first)
        await checkTaken(job, 'chk-2', second)
        await restoreAndCheck(job, 'chk-2', second, 'remote')
        await restoreAndCheck(job, 'chk-1', first, 'remote')
        await restoreAndCheck(job, 'chk-2', second, 'local')
      } finally {
        await job.cleanup()
      }
    })

    it('reads again a file written in the clock tick of the scan (racy), and catches its rewrite', async () => {
      const rng = seeded(300 + k)
      const job = await format2Job(kind, {tasks: ['alpha']})
      Object.assign(process.env, job.target.env)
      const ctx = await openJob(await resolveSettings({jobFile: path.join(job.dir, 'ckpt.json'), node: NODE}))
      const file = path.join(job.state('alpha'), 'hot.bin')
      // A take in this process whose capture writes hot.bin right before the scan: the write and
      // the scan fall in one clock tick (20 ms), which a separate process cannot arrange. On a
      // loaded machine the scan may start later than that: then another try (at most twenty).
      const takeRightAfterWrite = async (): Promise<string> => {
        const seen: string[] = []
        for (let attempt = 0; attempt < 20; attempt++) {
          const {checkpointId} = await takeCheckpoint(ctx, {
            capture: async (task) => {
              await fs.writeFile(file, rng.bytes(64 * KiB))
              return {sourceDir: task.stateDir, release: async () => {}}
            },
          })
          const hot = await entryOf(job, checkpointId, 'alpha', 'hot.bin')
          if (hot.racy === true) return checkpointId
          seen.push(`${checkpointId}: ctime ${hot.ctimeNs}, scan ${(await job.index(checkpointId, 'alpha')).scannedAtNs}`)
        }
        assert.fail(`hot.bin, written right before the scan, is never marked racy:\n${seen.join('\n')}`)
      }
      try {
        await seedState(job.state('alpha'), rng, {bigBytes: MiB})
        await sleep(1100)
        await job.take()
        const racy = await takeRightAfterWrite()
        assert.equal((await entryOf(job, racy, 'alpha', 'db/wal.log')).racy, undefined, 'db/wal.log was written long before the scan')
        // Nothing changes: the racy file is read again all the same, and nothing new is uploaded.
        await sleep(100)
        const again = await job.take()
        assert.equal(taskOf(again, 'alpha').changedFiles, 1, `hot.bin is read again: ${JSON.stringify(again)}`)
        assert.equal((await entryOf(job, again.checkpointId, 'alpha', 'hot.bin')).racy, undefined, 'hot.bin is settled at the second scan')
        const settled = await job.take()
        assert.equal(taskOf(settled, 'alpha').changedFiles, 0, `hot.bin is settled: ${JSON.stringify(settled)}`)
        // Racy again, then a same-size rewrite that keeps the old mtime.
        await takeRightAfterWrite()
        const old = await fs.lstat(file, {bigint: true})
        const handle = await fs.open(file, 'r+')
        await handle.write(rng.bytes(64 * KiB), 0, 64 * KiB, 0)
        await handle.close()
        setMtimeNs(file, old.mtimeNs)
        const last = await job.digests()
        const take = await job.take()
        assert.equal(taskOf(take, 'alpha').changedFiles, 1, `the rewrite of hot.bin is caught: ${JSON.stringify(take)}`)
        await checkTaken(job, take.checkpointId, last)
        await restoreAndCheck(job, take.checkpointId, last, 'remote')
      } finally {
        await ctx.close()
        await job.cleanup()
      }
    })

    it('`take --reread` reads every file and uploads nothing new', async () => {
      const rng = seeded(400 + k)
      const job = await format2Job(kind)
      try {
        for (const t of job.tasks) await seedState(job.state(t), rng, {bigBytes: 2 * MiB})
        const files = (await job.digests()).alpha
        const fileCount = Object.values(files).filter((e) => e.type === 'file').length
        await job.take()
        await sleep(1100)
        const normal = await job.take()
        assert.equal(taskOf(normal, 'alpha').changedFiles, 0, `nothing changed: ${JSON.stringify(normal)}`)
        assert.notEqual(taskOf(normal, 'alpha').reread, true)
        const digests = await job.digests()
        const reread = await job.take(['--reread'])
        for (const t of job.tasks) {
          assert.equal(taskOf(reread, t).reread, true, `task ${t} says it reread: ${JSON.stringify(reread)}`)
          assert.equal(taskOf(reread, t).changedFiles, t === 'alpha' ? fileCount : taskOf(reread, t).files, `task ${t} read every file`)
        }
        assert.ok(reread.uploadedBytes < 64 * KiB, `a reread of unchanged files uploads the indexes only, not ${reread.uploadedBytes} bytes`)
        assert.ok(reread.reusedBytes >= 2 * 2 * MiB, `a reread reuses every blob (${reread.reusedBytes})`)
        assert.equal((await job.index(reread.checkpointId, 'alpha')).fullRead, true)
        await checkTaken(job, reread.checkpointId, digests)
        await restoreAndCheck(job, reread.checkpointId, digests, 'remote')
      } finally {
        await job.cleanup()
      }
    })

    it('checkpoint.rereadEvery 2 rereads every second take', async () => {
      const job = await format2Job(kind, {tasks: ['alpha'], checkpoint: {rereadEvery: 2}})
      try {
        await seedState(job.state('alpha'), seeded(450 + k), {bigBytes: MiB})
        await sleep(1100)
        const takes = []
        for (let i = 0; i < 5; i++) takes.push(await job.take())
        const files = takes[0].tasks[0].files
        assert.deepEqual(
          takes.map((t) => [t.tasks[0].reread === true, t.tasks[0].changedFiles]),
          [
            [false, files],
            [false, 0],
            [true, files],
            [false, 0],
            [true, files],
          ],
          'the first take reads everything (no base), then every second take rereads',
        )
        for (const t of takes.slice(1)) assert.ok(t.uploadedBytes < 64 * KiB, `nothing new is stored (${t.uploadedBytes} bytes)`)
      } finally {
        await job.cleanup()
      }
    })
  })
}
