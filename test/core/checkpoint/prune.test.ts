// A prune whose deletes hit a failure: it stops deleting before its exclusive lock is released.
// The fault is real: one data object of a file primary is immutable (chattr +i), so unlink fails.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {readdirSync} from 'node:fs'
import * as path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {describe, it} from 'node:test'
import {keys} from '../../../src/core/format/keys.js'
import {pruneCheckpoints} from '../../../src/core/checkpoint/prune.js'
import {checkpointJob} from '../../helpers/checkpoints.js'
import {fileKind} from '../../helpers/primaries.js'

const EXTRA = 1000

describe('checkpoint prune with a failing delete', () => {
  it('starts no delete after the first failure, and none goes on after the lock is released', async () => {
    const j = await checkpointJob(fileKind, {tasks: ['alpha']})
    const job = j.ctx.job.name
    const dataDir = path.join(j.target.url, ...keys.dataPrefix(job, 'chk-1').split('/'))
    const stuck = path.join(dataDir, 'alpha.index.json')
    try {
      await j.take(2)
      // Many objects in the doomed checkpoint's data folder, so deletes are still to start when the first fails.
      for (let i = 0; i < EXTRA; i++) await j.ctx.primary.put(`${keys.dataPrefix(job, 'chk-1')}x-${String(i).padStart(4, '0')}`, Buffer.from('x'))
      execFileSync('chattr', ['+i', stuck])
      const before = readdirSync(dataDir).length
      await assert.rejects(pruneCheckpoints(j.ctx, {retain: 1, graceMs: 0}), /alpha\.index\.json/)
      // Read at the moment the prune rejected, before anything else may run.
      const atRejection = readdirSync(dataDir).length
      const locks = [] as string[]
      for await (const info of j.ctx.primary.list(keys.locksPrefix(job))) locks.push(info.key)
      assert.deepEqual(locks, [], 'the exclusive lock is released when the prune rejects')
      await sleep(500)
      const later = readdirSync(dataDir).length
      assert.equal(later, atRejection, `deletes went on after the prune rejected and released its lock (${atRejection} objects then, ${later} now)`)
      assert.ok(before - later <= 16, `at most the deletes in flight ran after the failure (${before - later} of ${before} deleted)`)
    } finally {
      execFileSync('chattr', ['-i', stuck])
      await j.cleanup()
    }
  })
})
