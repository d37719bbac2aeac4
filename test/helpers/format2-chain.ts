// The chain scenario of issue 13, shared by the file-store and Azurite test files: seeded random
// changes between format-2 takes, then every checkpoint restored from local, from remote and mixed.
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {checkTaken, format2Job, restoreAndCheck, KiB, MiB, type RestoreMode, type TreeDigest} from './format2-e2e.js'
import {randomChanges, seedState, seeded} from './format2-changes.js'
import type {PrimaryKind} from './primaries.js'

export const stateBytes = (digests: Record<string, TreeDigest>) =>
  Object.values(digests)
    .flatMap((d) => Object.values(d))
    .reduce((sum, e) => sum + (e.type === 'file' ? e.size : 0), 0)

/** Takes `takes` checkpoints with random changes between them, then restores each in each of `modes`. */
export async function chainScenario(kind: PrimaryKind, seed: number, modes: RestoreMode[] = ['local', 'remote', 'mixed'], takes = 20): Promise<void> {
  const rng = seeded(seed)
  const job = await format2Job(kind)
  try {
    await seedState(job.state('alpha'), rng, {bigBytes: 4 * MiB})
    await seedState(job.state('beta'), rng, {bigBytes: 3 * MiB, smallFiles: 4})
    const taken = new Map<string, Record<string, TreeDigest>>()
    const log: string[] = []
    for (let round = 1; round <= takes; round++) {
      if (round === 2) {
        await fs.appendFile(path.join(job.state('alpha'), 'conf/app.conf'), 'x'.repeat(KiB))
        log.push('round 2: append alpha conf/app.conf')
      } else if (round > 1) {
        for (const t of job.tasks) log.push(...(await randomChanges(job.state(t), rng, round, rng.int(2, 5))).map((c) => `round ${round}: ${t} ${c}`))
      }
      const digests = await job.digests()
      const take = await job.take()
      assert.equal(take.checkpointId, `chk-${round}`)
      assert.equal(take.status, 'completed')
      assert.ok(Number.isSafeInteger(take.uploadedBytes) && take.uploadedBytes > 0, `take JSON has uploadedBytes: ${JSON.stringify(take)}`)
      assert.ok(Number.isSafeInteger(take.reusedBytes) && take.reusedBytes >= 0, `take JSON has reusedBytes: ${JSON.stringify(take)}`)
      const bytes = stateBytes(digests)
      if (round === 1) {
        // Everything but the files of zeros (one sparse), whose equal chunks are stored once.
        const zeros = Object.values(digests).reduce((sum, d) => sum + d['db/zeros.bin'].size + d['db/sparse.bin'].size, 0)
        const unique = bytes - zeros
        assert.ok(take.uploadedBytes >= unique, `the first take uploads the whole state (${take.uploadedBytes} < ${unique})`)
        assert.ok(take.uploadedBytes < unique + zeros / 2, `equal chunks are stored once (${take.uploadedBytes} bytes for ${unique} unique and ${zeros} mostly zero)`)
      }
      if (round === 2) {
        assert.ok(take.uploadedBytes < bytes / 50, `a 1 KiB change uploaded ${take.uploadedBytes} bytes of a ${bytes}-byte state`)
        assert.ok(take.reusedBytes >= bytes * 0.95, `a 1 KiB change reused only ${take.reusedBytes} of ${bytes} bytes`)
      }
      await checkTaken(job, take.checkpointId, digests).catch((error) => {
        throw Object.assign(error as Error, {message: `${(error as Error).message}\nchanges:\n${log.join('\n')}`})
      })
      taken.set(take.checkpointId, digests)
    }
    for (const mode of modes)
      for (const [id, digests] of taken) {
        try {
          const restored = await restoreAndCheck(job, id, digests, mode)
          // Every copy of the chain is whole: a local restore needs nothing from the primary.
          if (mode === 'local') for (const t of restored.tasks) assert.equal(t.source, 'local', `restore ${id}: task ${t.taskId} read ${t.remoteBytes} bytes from the primary`)
        } catch (error) {
          throw Object.assign(error as Error, {message: `${(error as Error).message}\nchanges:\n${log.join('\n')}`})
        }
      }
  } finally {
    await job.cleanup()
  }
}
