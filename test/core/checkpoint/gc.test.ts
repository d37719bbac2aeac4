// Prune of format 2 in this process against a real file primary, with checkpoints built by hand:
// the packs kept checkpoints need stay, the others go once older than the grace period (store
// time) and only while no open claim is younger than it; aborted ids go; the listing says so.
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {keys} from '../../../src/core/format/keys.js'
import {pruneCheckpoints} from '../../../src/core/checkpoint/prune.js'
import {listCheckpoints} from '../../../src/core/catalogue/listing.js'
import {listPacks} from '../../../src/core/catalogue/catalogue.js'
import {packsInHead} from '../../../src/core/catalogue/references.js'
import {checkpointJob, type CheckpointJob} from '../../helpers/checkpoints.js'
import {fileKind} from '../../helpers/primaries.js'
import {HandWriter} from '../../helpers/hand-format2.js'

const HOUR = 3_600_000

/** Three checkpoints: `b` never changes (its blob stays in chk-1's pack), `a` changes each time. */
async function chain(j: CheckpointJob) {
  const w = new HandWriter(j.ctx.primary, j.ctx.job.name)
  const c1 = await w.checkpoint('chk-1', {alpha: {a: 'a one', b: 'b shared'}, beta: {x: 'x one'}})
  const c2 = await w.checkpoint('chk-2', {alpha: {a: 'a two', b: 'b shared'}, beta: {x: 'x one'}}, {base: 'chk-1'})
  const c3 = await w.checkpoint('chk-3', {alpha: {a: 'a three', b: 'b shared'}, beta: {x: 'x three'}}, {base: 'chk-2'})
  return {w, c1, c2, c3}
}

async function packIds(j: CheckpointJob): Promise<string[]> {
  return [...(await listPacks(j.ctx.primary, j.ctx.job.name)).keys()].sort()
}

/** Sets an object's time in a file primary (ages it). */
async function age(j: CheckpointJob, key: string, ms: number) {
  const when = new Date(Date.now() - ms)
  await fs.utimes(path.join(j.target.url, ...key.split('/')), when, when)
}

describe('prune of format 2', () => {
  it('keeps every pack a kept checkpoint needs and removes the rest past a grace of 0', async () => {
    const j = await checkpointJob(fileKind, {tasks: ['alpha', 'beta']})
    try {
      const {c1, c2, c3} = await chain(j)
      assert.equal(c2.newPacks.length, 1)
      const before = await packIds(j)
      const dry = await pruneCheckpoints(j.ctx, {retain: 1, graceMs: 0, dryRun: true})
      assert.deepEqual(dry.removed, ['chk-1', 'chk-2'])
      assert.equal(dry.objects.packsDeleted, 1, 'a dry run says what it would remove')
      assert.deepEqual(await packIds(j), before, 'and removes nothing')
      const result = await pruneCheckpoints(j.ctx, {retain: 1, graceMs: 0})
      assert.deepEqual(result.removed, ['chk-1', 'chk-2'])
      assert.deepEqual(await packIds(j), [...c3.packs].sort(), 'exactly the packs chk-3 names remain (chk-1 pack holds b)')
      assert.ok(c3.packs.includes(c1.newPacks[0]))
      assert.equal(result.objects.packsDeleted, 1)
      assert.equal(result.objects.packsDeferred, 0)
      const gone = c2.newPacks[0]
      assert.ok(result.objects.bytesFreed > 0)
      assert.equal(await j.ctx.primary.stat(keys.pack(j.ctx.job.name, gone)), undefined)
      const again = await pruneCheckpoints(j.ctx, {retain: 1, graceMs: 0})
      assert.deepEqual(again.objects, {packsDeleted: 0, packsDeferred: 0, bytesFreed: 0})
    } finally {
      await j.cleanup()
    }
  })

  it('defers unneeded packs younger than the grace period, and while an open claim is younger than it', async () => {
    const j = await checkpointJob(fileKind, {tasks: ['alpha', 'beta']})
    const job = j.ctx.job.name
    try {
      const {c2} = await chain(j)
      const young = await pruneCheckpoints(j.ctx, {retain: 1, graceMs: HOUR})
      assert.deepEqual(young.removed, ['chk-1', 'chk-2'])
      assert.equal(young.objects.packsDeleted, 0)
      assert.equal(young.objects.packsDeferred, 1)
      assert.match(young.objects.deferredBecause!, /within the grace period/)
      await age(j, keys.pack(job, c2.newPacks[0]), 2 * HOUR)
      // A take in progress: its claim has no commit record yet.
      await j.ctx.primary.put(keys.claim(job, 'chk-4'), Buffer.from('{"checkpointId":"chk-4"}'))
      const held = await pruneCheckpoints(j.ctx, {retain: 1, graceMs: HOUR})
      assert.equal(held.objects.packsDeleted, 0)
      assert.equal(held.objects.packsDeferred, 1)
      assert.match(held.objects.deferredBecause!, /open claim chk-4/)
      await age(j, keys.claim(job, 'chk-4'), 2 * HOUR)
      const done = await pruneCheckpoints(j.ctx, {retain: 1, graceMs: HOUR})
      assert.equal(done.objects.packsDeleted, 1)
      assert.equal(await j.ctx.primary.stat(keys.pack(job, c2.newPacks[0])), undefined)
    } finally {
      await j.cleanup()
    }
  })

  it('lists and removes an aborted id; its record stays with the highest claim', async () => {
    const j = await checkpointJob(fileKind, {tasks: ['alpha', 'beta']})
    const job = j.ctx.job.name
    try {
      const {w} = await chain(j)
      await w.abort('chk-4', 'took too long')
      const left = await w.checkpoint('chk-5', {alpha: {a: 'never'}}, {commit: false})
      await w.abort('chk-5')
      const listed = await listCheckpoints(j.ctx)
      const row = (id: string) => listed.checkpoints.find((c) => c.checkpointId === id)!
      assert.equal(row('chk-4').status, 'incomplete')
      assert.equal(row('chk-4').aborted, true)
      assert.equal(row('chk-3').format, 2)
      assert.equal(row('chk-3').aborted, undefined)
      assert.equal(row('chk-3').addedBytes, 'a three'.length + 'x three'.length)
      assert.equal(row('chk-1').addedBytes, row('chk-1').bytes)
      const result = await pruneCheckpoints(j.ctx, {retain: 3, graceMs: HOUR})
      assert.deepEqual(result.removed, ['chk-4', 'chk-5'])
      assert.equal(await j.ctx.primary.stat(keys.manifest(job, 'chk-4')), undefined)
      assert.equal(await j.ctx.primary.stat(keys.claim(job, 'chk-4')), undefined)
      assert.ok(await j.ctx.primary.stat(keys.claim(job, 'chk-5')), 'the highest claim stays')
      assert.ok(await j.ctx.primary.stat(keys.manifest(job, 'chk-5')), 'and its abort record with it')
      assert.equal(await j.ctx.primary.stat(keys.index(job, 'chk-5', 'alpha')), undefined, 'an aborted id loses its data')
      assert.ok(left.newPacks.length === 1 && (await j.ctx.primary.stat(keys.pack(job, left.newPacks[0]))), 'its pack waits for the grace period')
    } finally {
      await j.cleanup()
    }
  })

  it('removes no pack while a kept checkpoint has an index it cannot read', async () => {
    const j = await checkpointJob(fileKind, {tasks: ['alpha', 'beta']})
    const job = j.ctx.job.name
    try {
      await chain(j)
      const key = keys.index(job, 'chk-3', 'alpha')
      const size = (await j.ctx.primary.stat(key))!.size
      await j.ctx.primary.put(key, Buffer.alloc(size, ' '))
      const before = await packIds(j)
      const warnings: string[] = []
      const result = await pruneCheckpoints(j.ctx, {retain: 1, graceMs: 0, onWarning: (m) => warnings.push(m)})
      assert.deepEqual(result.kept, ['chk-2', 'chk-3'])
      assert.equal(result.objects.packsDeleted, 0)
      assert.match(result.objects.deferredBecause!, /kept checkpoint chk-3/)
      assert.deepEqual(await packIds(j), before)
      assert.ok(
        warnings.some((w) => /chk-3 is kept/.test(w)),
        warnings.join('; '),
      )
    } finally {
      await j.cleanup()
    }
  })

  it('reads a pack table from the head of an index', () => {
    const id = 'ab'.repeat(32)
    assert.deepEqual(packsInHead(`{"format":2,"node":"n","root":{"mode":1},"packs":[{"id":"${id}","size":3}],"entries":[`), [{id, size: 3}])
    assert.deepEqual(packsInHead(`{"packs":[{"id":"${id}","size":3}]`), [{id, size: 3}])
    assert.equal(packsInHead(`{"format":2,"packs":[{"id":"${id}","si`), undefined, 'not all of it yet')
    assert.equal(packsInHead(`{"format":2,"entries":[{"path":"x","packs":[]}]`), undefined)
  })
})
