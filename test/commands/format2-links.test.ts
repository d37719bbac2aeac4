// Issue 13, local copies share unchanged files: hard links between the copies of a task, never an
// inode shared with the live stateDir, before or after a restore.
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {checkTaken, format2Job, regularFiles, restoreAndCheck, KiB, MiB, type Format2Job} from '../helpers/format2-e2e.js'
import {seedState, seeded} from '../helpers/format2-changes.js'
import {fileKind} from '../helpers/primaries.js'

/** dev:ino of every regular file below root, by path. */
async function inodes(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for (const file of await regularFiles(root)) {
    const st = await fs.lstat(path.join(root, file), {bigint: true})
    out.set(file, `${st.dev}:${st.ino}`)
  }
  return out
}

/** dev:ino of every file of every local copy of the job's tasks. */
async function copyInodes(job: Format2Job): Promise<Set<string>> {
  const all = new Set<string>()
  for (const t of job.tasks) {
    const taskDir = path.dirname(job.copyDir('chk-1', t))
    for (const id of await fs.readdir(taskDir)) for (const ino of (await inodes(path.join(taskDir, id, 'state'))).values()) all.add(ino)
  }
  return all
}

async function assertNoSharedInode(job: Format2Job, when: string): Promise<void> {
  const copies = await copyInodes(job)
  for (const t of job.tasks)
    for (const [file, ino] of await inodes(job.state(t))) {
      assert.ok(!copies.has(ino), `${when}: stateDir file ${t}/${file} is a hard link of a local copy's file`)
      assert.equal((await fs.lstat(path.join(job.state(t), file))).nlink, 1, `${when}: stateDir file ${t}/${file} has another link`)
    }
}

describe('format-2 local copies share unchanged files (file store)', () => {
  it('hard-links unchanged files between copies, never with the stateDir, and a restore links nothing into it', async () => {
    const rng = seeded(800)
    const job = await format2Job(fileKind, {retain: {local: 3}})
    try {
      for (const t of job.tasks) await seedState(job.state(t), rng, {bigBytes: 2 * MiB})
      // Nothing changes for chk-1's take; then one file before each take. The pause keeps the files
      // out of the racy window (a racy file is read again, and may be copied rather than linked).
      const changed = ['', 'conf/app.conf', 'data/part-1/f0.bin']
      const digests = []
      for (const [round, file] of changed.entries()) {
        if (file) for (const t of job.tasks) await fs.writeFile(path.join(job.state(t), file), rng.bytes(50 * KiB))
        await sleep(1100)
        digests.push(await job.digests())
        assert.equal((await job.take()).checkpointId, `chk-${round + 1}`)
      }
      for (const t of job.tasks) {
        const newest = path.join(job.copyDir('chk-3', t), 'state')
        const files = await regularFiles(newest)
        assert.ok(files.length >= 8)
        for (const file of files) {
          const {nlink} = await fs.lstat(path.join(newest, file))
          // Copies of chk-1, chk-2, chk-3: a file unchanged since chk-1 has three links.
          const expected = file === 'data/part-1/f0.bin' ? 1 : file === 'conf/app.conf' ? 2 : 3
          assert.equal(nlink, expected, `${t}/${file} of the newest copy has ${nlink} links`)
        }
      }
      await assertNoSharedInode(job, 'after three takes')
      for (const [i, expected] of digests.entries()) await checkTaken(job, `chk-${i + 1}`, expected)
      await restoreAndCheck(job, 'chk-1', digests[0], 'local')
      await assertNoSharedInode(job, 'after a restore of chk-1 over chk-3')
      for (const t of job.tasks) await fs.rm(job.state(t), {recursive: true})
      await restoreAndCheck(job, 'chk-3', digests[2], 'local')
      await assertNoSharedInode(job, 'after a restore of chk-3 into no stateDir')
    } finally {
      await job.cleanup()
    }
  })

  it('a file missing from the previous copy does not cost the next take its local copy', async () => {
    const job = await format2Job(fileKind, {tasks: ['alpha'], retain: {local: 3}})
    try {
      await seedState(job.state('alpha'), seeded(810), {bigBytes: MiB})
      await sleep(1100)
      await job.take()
      // Copies are never modified, but a file of one may be lost (a person cleaning up, a disk error).
      await fs.rm(path.join(job.copyDir('chk-1', 'alpha'), 'state', 'db', 'wal.log'))
      const digests = await job.digests()
      const take = await job.take()
      assert.equal(take.tasks[0].secondary, 'written', `the copy of chk-2 is written from the stateDir where chk-1's copy lacks a file: ${JSON.stringify(take)}`)
      await checkTaken(job, 'chk-2', digests)
    } finally {
      await job.cleanup()
    }
  })
})
