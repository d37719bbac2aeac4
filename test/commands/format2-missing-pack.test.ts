// Issue 13, "one shared object deleted", seen from the writer: a take dedups against the blobs its
// base names, so once a pack of the base is gone every later checkpoint would name it too. A take
// with --reread (trust nothing) must store the lost blobs again, so the job can recover.
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {checkTaken, format2Job, restoreAndCheck, JOB, MiB} from '../helpers/format2-e2e.js'
import {seedState, seeded} from '../helpers/format2-changes.js'
import {fileKind} from '../helpers/primaries.js'

describe('a pack of the base deleted (file store)', () => {
  it('take --reread stores the lost blobs again: every pack the new checkpoint names exists', async () => {
    const job = await format2Job(fileKind, {tasks: ['alpha']})
    try {
      await seedState(job.state('alpha'), seeded(1000), {bigBytes: 3 * MiB})
      const digests = await job.digests()
      await job.take()
      const [lost] = await job.packsNamedBy('chk-1')
      await fs.rm(path.join(job.target.url, JOB, 'packs', lost.slice(0, 2), lost))
      const reread = await job.take(['--reread'])
      const stored = await job.packs()
      for (const p of await job.packsNamedBy(reread.checkpointId)) assert.ok(stored.has(p), `${reread.checkpointId} names pack ${p}, which is missing: the take reused blobs of a deleted pack`)
      assert.ok(reread.uploadedBytes >= 3 * MiB, `the lost blobs are uploaded again (${reread.uploadedBytes} bytes)`)
      await checkTaken(job, reread.checkpointId, digests)
      await restoreAndCheck(job, reread.checkpointId, digests, 'remote')
    } finally {
      await job.cleanup()
    }
  })
})
