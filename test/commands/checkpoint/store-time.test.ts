// Prune measures ages with the primary store's clock, not its own: the built CLI runs with its
// clock shifted by ±2 h (a preload that moves Date.now and new Date()), and decides as it would
// with a true clock: a fresh leftover and a fresh pack stay, old ones go.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {keys} from '../../../src/core/format/keys.js'
import {repoRoot} from '../../helpers/cli.js'
import {checkpointJob, type CheckpointJob} from '../../helpers/checkpoints.js'
import {azureKind, fileKind, type PrimaryKind} from '../../helpers/primaries.js'
import {FORMAT_1} from '../../helpers/job.js'

const HOUR = 3_600_000
const preload = path.join(repoRoot, 'test', 'fixtures', 'clock-skew.mjs')
const skewed = (ms: number) => ({NODE_OPTIONS: `--import=${preload}`, CKPT_TEST_CLOCK_SKEW_MS: String(ms)})

/** chk-1: fresh leftover data (no claim, no manifest); chk-2: leftover claim and data; chk-3 completed; two unneeded packs. */
async function setup(kind: PrimaryKind): Promise<{j: CheckpointJob; fresh: string; old: string}> {
  // Format 1 takes: the only packs are the two made here by hand.
  const j = await checkpointJob(kind, {tasks: ['alpha'], extra: FORMAT_1})
  const job = j.ctx.job.name
  await j.take(3)
  await j.ctx.primary.delete(keys.manifest(job, 'chk-1'))
  await j.ctx.primary.delete(keys.claim(job, 'chk-1'))
  await j.ctx.primary.delete(keys.manifest(job, 'chk-2'))
  const [fresh, old] = [randomBytes(32).toString('hex'), randomBytes(32).toString('hex')]
  for (const id of [fresh, old]) await j.ctx.primary.put(keys.pack(job, id), randomBytes(100))
  return {j, fresh, old}
}

async function ageObjects(j: CheckpointJob, prefixes: string[], ms: number) {
  const when = new Date(Date.now() - ms)
  for (const key of await j.keys()) if (prefixes.some((p) => key.startsWith(p))) await fs.utimes(path.join(j.target.url, ...key.split('/')), when, when)
}

const decisions = (json: any) => json.checkpoints.map((c: any) => `${c.checkpointId} ${c.action}`)

describe('prune in store time', () => {
  before(() => azureKind.setup())
  after(() => azureKind.teardown())

  it('the preload does shift a child clock', async () => {
    const {execFileSync} = await import('node:child_process')
    const out = execFileSync(process.execPath, ['-e', 'console.log(Date.now(), new Date().getTime())'], {env: {...process.env, ...skewed(-2 * HOUR)}})
      .toString()
      .split(' ')
      .map(Number)
    for (const t of out) assert.ok(Math.abs(Date.now() - 2 * HOUR - t) < 60_000, `child clock ${t} is 2 h behind`)
  })

  for (const skew of [2 * HOUR, -2 * HOUR]) {
    it(`file store, the node's clock off by ${skew / HOUR} h: fresh leftovers and packs stay, old ones go`, async () => {
      const {j, fresh, old} = await setup(fileKind)
      const job = j.ctx.job.name
      try {
        await ageObjects(j, [keys.claim(job, 'chk-2'), keys.dataPrefix(job, 'chk-2'), keys.pack(job, old)], 90 * 60_000)
        const result = await j.ckpt(['checkpoint', 'prune', '--retain', '3', '--grace', '1h'], skewed(skew))
        assert.equal(result.code, 0, result.stderr)
        assert.deepEqual(decisions(result.json), ['chk-1 keep', 'chk-2 remove', 'chk-3 keep'])
        assert.deepEqual(result.json.objects, {packsDeleted: 1, packsDeferred: 1, bytesFreed: 100, deferredBecause: 'written within the grace period'})
        assert.ok(await j.ctx.primary.stat(keys.pack(job, fresh)), 'the fresh pack stays')
        assert.equal(await j.ctx.primary.stat(keys.pack(job, old)), undefined, 'the old pack goes')
      } finally {
        await j.cleanup()
      }
    })
  }

  it("Azure, the node's clock off by ±2 h: fresh leftovers and packs stay until the grace period has passed in store time", async () => {
    const {j, fresh, old} = await setup(azureKind)
    const job = j.ctx.job.name
    try {
      const result = await j.ckpt(['checkpoint', 'prune', '--retain', '3', '--grace', '1h'], skewed(2 * HOUR))
      assert.equal(result.code, 0, result.stderr)
      assert.deepEqual(decisions(result.json), ['chk-1 keep', 'chk-2 keep', 'chk-3 keep'])
      assert.equal(result.json.objects.packsDeleted, 0)
      for (const id of [fresh, old]) assert.ok(await j.ctx.primary.stat(keys.pack(job, id)))
      // A grace period of seconds, in Azure's own time: a new pack waits it out, whatever the node's clock says.
      const newer = randomBytes(32).toString('hex')
      await j.ctx.primary.put(keys.pack(job, newer), randomBytes(10))
      const soon = await j.ckpt(['checkpoint', 'prune', '--retain', '3', '--grace', '20s'], skewed(2 * HOUR))
      assert.equal(soon.code, 0, soon.stderr)
      assert.ok(await j.ctx.primary.stat(keys.pack(job, newer)), 'a pack seconds old stays with a grace of 20 s')
      await new Promise((resolve) => setTimeout(resolve, 21_000))
      const later = await j.ckpt(['checkpoint', 'prune', '--retain', '3', '--grace', '20s'], skewed(-2 * HOUR))
      assert.deepEqual(decisions(later.json), ['chk-1 remove', 'chk-2 remove', 'chk-3 keep'])
      for (const id of [fresh, old, newer]) assert.equal(await j.ctx.primary.stat(keys.pack(job, id)), undefined, 'past the grace period in store time')
    } finally {
      await j.cleanup()
    }
  })
})
