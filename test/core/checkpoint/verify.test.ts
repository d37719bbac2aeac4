// The verify checker against real stores: faults are real bytes changed in the primary.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {keys} from '../../../src/core/format/keys.js'
import {verifyCheckpoints} from '../../../src/core/checkpoint/verify.js'
import type {ObjectInfo, PrimaryStore} from '../../../src/core/stores/store.js'
import {parseSubset, selectFiles, sliceOf} from '../../../src/core/checkpoint/verify-data.js'
import {UsageError} from '../../../src/core/errors.js'
import {breakFour, checkpointJob, flipByte, type CheckpointJob} from '../../helpers/checkpoints.js'
import {primaryKinds} from '../../helpers/primaries.js'
import {FORMAT_1} from '../../helpers/job.js'

describe('read-data subsets', () => {
  it('parses N/M and P% and refuses the rest', () => {
    assert.deepEqual(parseSubset('2/5'), {kind: 'slice', n: 2, m: 5})
    assert.deepEqual(parseSubset('12.5%'), {kind: 'percent', percent: 12.5})
    for (const bad of ['0/3', '4/3', '3', '0%', '101%', 'a/b']) assert.throws(() => parseSubset(bad), UsageError, bad)
  })

  it('puts every file in exactly one of M slices', () => {
    const files = Array.from({length: 200}, (_, i) => ({path: `f${i}`, type: 'file' as const, mode: 0o644, size: 1, mtimeMs: 0}))
    const m = 7
    const seen = new Map<string, number>()
    for (let n = 1; n <= m; n++) for (const f of selectFiles({kind: 'slice', n, m}, 'chk-3', 't', files)) seen.set(f.path, (seen.get(f.path) ?? 0) + 1)
    assert.equal(seen.size, files.length)
    assert.ok([...seen.values()].every((count) => count === 1))
    assert.ok(new Set(files.map((f) => sliceOf('chk-3', 't', f.path, m))).size === m, 'every slice gets files')
  })
})

for (const kind of primaryKinds) {
  describe(`checkpoint verify (core) on the ${kind.name} store`, () => {
    let j: CheckpointJob
    before(async () => {
      await kind.setup()
      j = await checkpointJob(kind, {extra: FORMAT_1})
      await j.take(4)
    })
    after(async () => {
      await j?.cleanup()
      await kind.teardown()
    })

    it('finds nothing wrong in sound checkpoints, with and without reading data', async () => {
      const quick = await verifyCheckpoints(j.ctx, {all: true})
      assert.equal(quick.ok, true, JSON.stringify(quick))
      assert.deepEqual(
        quick.checkpoints.map((c) => c.checkpointId),
        ['chk-1', 'chk-2', 'chk-3', 'chk-4'],
      )
      const full = await verifyCheckpoints(j.ctx, {all: true, data: {kind: 'all'}})
      assert.equal(full.ok, true, JSON.stringify(full))
      assert.equal(full.checkpoints[0].filesRead, 6)
    })

    it('reads every file once over M slices, and the slice holding a flipped byte finds it', async () => {
      const m = 3
      let filesRead = 0
      const found: number[] = []
      await flipByte(j, 'chk-4', 'beta')
      for (let n = 1; n <= m; n++) {
        const r = await verifyCheckpoints(j.ctx, {ids: ['chk-4'], data: {kind: 'slice', n, m}})
        filesRead += r.checkpoints[0].filesRead
        if (!r.ok) found.push(n)
      }
      assert.equal(filesRead, 6, 'two tasks of three files each, each read once')
      assert.deepEqual(found, [sliceOf('chk-4', 'beta', 'counter.txt', m) + 1])
      const all = await verifyCheckpoints(j.ctx, {ids: ['chk-4'], data: {kind: 'percent', percent: 100}})
      assert.equal(all.checkpoints[0].filesRead, 6)
      assert.deepEqual(
        all.checkpoints[0].problems.map((p) => [p.taskId, p.file]),
        [['beta', 'counter.txt']],
      )
    })

    it('reports a deleted, a truncated and a flipped object and an unparsable manifest, all at once', async () => {
      await breakFour(j)
      const quick = await verifyCheckpoints(j.ctx, {all: true})
      assert.equal(quick.ok, false)
      const byId = Object.fromEntries(quick.checkpoints.map((c) => [c.checkpointId, c]))
      assert.match(byId['chk-1'].problems[0].problem, /not valid JSON/)
      assert.deepEqual(
        byId['chk-2'].problems.map((p) => [p.taskId, p.problem]),
        [['alpha', 'archive is missing']],
      )
      assert.equal(byId['chk-3'].problems.length, 1)
      assert.match(byId['chk-3'].problems[0].problem, /archive is \d+ bytes, the manifest says \d+/)
      assert.equal(byId['chk-4'].ok, true, 'flipped bytes (same size) show only with --read-data')
      const full = await verifyCheckpoints(j.ctx, {all: true, data: {kind: 'all'}})
      const chk4 = full.checkpoints.find((c) => c.checkpointId === 'chk-4')!
      const files = chk4.problems
        .filter((p) => p.file)
        .map((p) => `${p.taskId}/${p.file}`)
        .sort()
      assert.deepEqual(files, ['alpha/counter.txt', 'beta/counter.txt'])
      assert.ok(chk4.problems.some((p) => /archive SHA-256 differs/.test(p.problem)))
      assert.deepEqual(
        full.checkpoints.map((c) => c.ok),
        [false, false, false, false],
      )
    })
  })
}

/** The job's store, whose listing of the whole job sees the data before a take and the manifests after it. */
function listingAcrossATake(j: CheckpointJob, take: () => Promise<unknown>): PrimaryStore {
  const inner = j.ctx.primary
  const job = j.ctx.job.name
  const collect = async (prefix: string) => {
    const found: ObjectInfo[] = []
    for await (const info of inner.list(prefix)) found.push(info)
    return found
  }
  return {
    displayUrl: inner.displayUrl,
    properties: inner.properties,
    createIfAbsent: (key, body, options) => inner.createIfAbsent(key, body, options),
    put: (key, body, options) => inner.put(key, body, options),
    get: (key, options) => inner.get(key, options),
    stat: (key) => inner.stat(key),
    delete: (key) => inner.delete(key),
    close: () => inner.close(),
    async *list(prefix) {
      if (prefix !== keys.jobPrefix(job)) return yield* inner.list(prefix)
      const before = await collect(prefix)
      await take()
      const after = await collect(prefix)
      yield* before.filter((info) => !info.key.startsWith(keys.manifestsPrefix(job)))
      yield* after.filter((info) => info.key.startsWith(keys.manifestsPrefix(job)))
    },
  }
}

for (const kind of primaryKinds) {
  describe(`checkpoint verify beside a running take on the ${kind.name} store`, () => {
    before(() => kind.setup())
    after(() => kind.teardown())

    it('stats an object the listing missed before calling it missing: a listing is not a snapshot', async () => {
      const j = await checkpointJob(kind, {tasks: ['alpha'], extra: FORMAT_1})
      try {
        await j.take(1)
        const store = listingAcrossATake(j, () => j.take(1))
        const result = await verifyCheckpoints({...j.ctx, primary: store}, {all: true})
        assert.deepEqual(
          result.checkpoints.map((c) => c.checkpointId),
          ['chk-1', 'chk-2'],
        )
        assert.equal(result.ok, true, JSON.stringify(result.checkpoints.flatMap((c) => c.problems)))
        await j.ctx.primary.delete(keys.index(j.ctx.job.name, 'chk-2', 'alpha'))
        const broken = await verifyCheckpoints(j.ctx, {ids: ['chk-2']})
        assert.deepEqual(
          broken.checkpoints[0].problems.map((p) => p.problem),
          ['index is missing'],
          'a missing object is still found',
        )
      } finally {
        await j.cleanup()
      }
    })
  })
}
