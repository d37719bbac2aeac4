// Issue 13, kill -9 of a format-2 take at seeded random moments (file store): after each kill every
// completed checkpoint restores byte for byte, a re-run succeeds, and `prune --grace 0` leaves no
// pack in JOB/packs/ that no completed checkpoint's index names (and removes none that one does).
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {checkTaken, format2Job, restoreAndCheck, track, JOB, MiB, type Format2Job, type TreeDigest} from '../helpers/format2-e2e.js'
import {randomChanges, seedState, seeded} from '../helpers/format2-changes.js'
import {fileKind} from '../helpers/primaries.js'

const KILLS = 7

/** Pack ids named by the task indexes of the completed checkpoints, read from JOB/data/chk-N/*.index.json. */
async function packsNamedOnDisk(job: Format2Job, ids: string[]): Promise<Set<string>> {
  const named = new Set<string>()
  for (const id of ids) {
    const data = path.join(job.target.url, JOB, 'data', id)
    for (const name of (await fs.readdir(data)).filter((n) => n.endsWith('.index.json'))) {
      for (const p of JSON.parse(await fs.readFile(path.join(data, name), 'utf8')).packs) named.add(p.id)
    }
  }
  return named
}

/** Pack ids in JOB/packs/xx/ of the file store. */
async function packsOnDisk(job: Format2Job): Promise<Set<string>> {
  const root = path.join(job.target.url, JOB, 'packs')
  const found = new Set<string>()
  for (const xx of await fs.readdir(root).catch(() => [] as string[])) for (const name of await fs.readdir(path.join(root, xx))) if (/^[0-9a-f]{64}$/.test(name)) found.add(name)
  return found
}

describe('kill -9 of a format-2 take at random moments (file store)', () => {
  it(`leaves every completed checkpoint whole, ${KILLS} times; the re-run succeeds and prune --grace 0 leaves no unnamed pack`, async () => {
    const rng = seeded(900)
    const job = await format2Job(fileKind, {retain: {primary: 2, local: 2}})
    try {
      for (const t of job.tasks) await seedState(job.state(t), rng, {bigBytes: 2 * MiB})
      const taken = new Map<string, Record<string, TreeDigest>>()
      const log: string[] = []
      let digests = await job.digests()
      taken.set((await job.take()).checkpointId, digests)
      for (let round = 1; round <= KILLS; round++) {
        for (const t of job.tasks) await randomChanges(job.state(t), rng, round, 3)
        // Some new content each round, so that the take has packs to put when it is killed.
        await fs.writeFile(path.join(job.state('alpha'), `new-${round}.bin`), rng.bytes(rng.int(1, 4) * MiB))
        digests = await job.digests()
        const delay = rng.int(0, 1000)
        const take = track(job.start(['checkpoint', 'take']))
        await sleep(delay)
        const killed = await take.kill9()
        log.push(`round ${round}: killed after ${delay} ms (${killed.signal ?? `exit ${killed.code}`})`)
        const what = `${log.join('\n')}\n`

        // A commit that happened before the kill is a checkpoint of the state it read.
        const completed = await job.completed()
        for (const id of completed) if (!taken.has(id)) taken.set(id, digests)
        for (const id of [...taken.keys()]) if (!completed.includes(id)) taken.delete(id)
        for (const [id, expected] of taken) {
          await checkTaken(job, id, expected, {copy: false}).catch((e) => assert.fail(`${what}${e.message}`))
          await restoreAndCheck(job, id, expected, 'remote').catch((e) => assert.fail(`${what}${e.message}`))
        }

        digests = await job.digests()
        const rerun = await job.take()
        taken.set(rerun.checkpointId, digests)
        const prune = await job.ckpt(['checkpoint', 'prune', '--grace', '0'])
        assert.equal(prune.code, 0, `${what}prune: ${prune.stdout}${prune.stderr}`)
        const kept = await job.completed()
        for (const id of [...taken.keys()]) if (!kept.includes(id)) taken.delete(id)
        const named = await packsNamedOnDisk(job, kept)
        const stored = await packsOnDisk(job)
        assert.deepEqual(
          [...stored].filter((p) => !named.has(p)),
          [],
          `${what}packs that no completed checkpoint names are left after prune --grace 0`,
        )
        assert.deepEqual(
          [...named].filter((p) => !stored.has(p)),
          [],
          `${what}packs that completed checkpoints name are missing`,
        )
      }
      for (const [id, expected] of taken) await restoreAndCheck(job, id, expected, 'local')
    } finally {
      await job.cleanup()
    }
  })
})
