// Issue 13, content stored once: two tasks holding the same file upload it once, and a snapshot
// task that makes new files at every take uploads only content that is new.
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {checkTaken, format2Job, restoreAndCheck, KiB, MiB} from '../helpers/format2-e2e.js'
import {seedState, seeded} from '../helpers/format2-changes.js'
import {primaryKinds} from '../helpers/primaries.js'

// cp without -p: every file of the snapshot is a new file (new inode, mtime and ctime) each time.
const SNAPSHOT = 'cp -R "$CKPT_STATE_DIR/." "$CKPT_SNAPSHOT_DIR/"'

for (const [k, kind] of primaryKinds.entries()) {
  describe(`format-2 deduplication on the ${kind.name} store`, () => {
    before(() => kind.setup())
    after(() => kind.teardown())

    it('uploads a 5 MiB file held by two tasks once', async () => {
      const rng = seeded(500 + k)
      const job = await format2Job(kind)
      try {
        const same = rng.bytes(5 * MiB)
        for (const t of job.tasks) {
          await fs.mkdir(path.join(job.state(t), 'db'), {recursive: true})
          await fs.writeFile(path.join(job.state(t), 'db', 'same.bin'), same)
          await fs.writeFile(path.join(job.state(t), `own-${t}.txt`), `${t}\n`)
        }
        const digests = await job.digests()
        const take = await job.take()
        assert.ok(take.uploadedBytes >= 5 * MiB, `the file is uploaded (${take.uploadedBytes})`)
        assert.ok(take.uploadedBytes < 5 * MiB + 256 * KiB, `the file is uploaded once, not ${take.uploadedBytes} bytes`)
        assert.ok(take.reusedBytes >= 5 * MiB, `one task reuses the other's blobs (${take.reusedBytes})`)
        await checkTaken(job, 'chk-1', digests)
        await restoreAndCheck(job, 'chk-1', digests, 'remote')
        await restoreAndCheck(job, 'chk-1', digests, 'mixed')
      } finally {
        await job.cleanup()
      }
    })

    it('a snapshot task that recreates its files uploads nothing new for unchanged content', async () => {
      const rng = seeded(600 + k)
      const job = await format2Job(kind, {tasks: [{id: 'alpha', snapshot: {command: SNAPSHOT}}]})
      try {
        await seedState(job.state('alpha'), rng, {bigBytes: 3 * MiB})
        const first = await job.take()
        assert.ok(first.uploadedBytes >= 3 * MiB, `the first take uploads the state (${first.uploadedBytes})`)
        const unchanged = await job.take()
        assert.equal(unchanged.tasks[0].changedFiles, unchanged.tasks[0].files, `every snapshot file is new and read: ${JSON.stringify(unchanged)}`)
        assert.ok(unchanged.uploadedBytes < 64 * KiB, `unchanged content uploads the index only, not ${unchanged.uploadedBytes} bytes`)
        assert.ok(unchanged.reusedBytes >= 3 * MiB, `every blob is reused (${unchanged.reusedBytes})`)
        await fs.writeFile(path.join(job.state('alpha'), 'db', 'wal.log'), rng.bytes(100 * KiB))
        const digests = await job.digests()
        const changed = await job.take()
        assert.ok(changed.uploadedBytes >= 100 * KiB, `the new wal.log is uploaded (${changed.uploadedBytes})`)
        assert.ok(changed.uploadedBytes < 100 * KiB + 64 * KiB, `only the new wal.log is uploaded, not ${changed.uploadedBytes} bytes`)
        await checkTaken(job, changed.checkpointId, digests)
        await restoreAndCheck(job, changed.checkpointId, digests, 'remote')
      } finally {
        await job.cleanup()
      }
    })
  })
}
