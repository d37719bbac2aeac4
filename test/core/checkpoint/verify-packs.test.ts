// verify of format 2 in this process against a real file primary, with checkpoints built by hand:
// a missing shared pack fails every checkpoint needing it and each names the others; --read-data
// with a flipped byte names the file and every checkpoint using the blob.
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {keys} from '../../../src/core/format/keys.js'
import {verifyCheckpoints} from '../../../src/core/checkpoint/verify.js'
import {checkpointJob, type CheckpointJob} from '../../helpers/checkpoints.js'
import {fileKind} from '../../helpers/primaries.js'
import {HandWriter} from '../../helpers/hand-format2.js'

async function chain(j: CheckpointJob) {
  const w = new HandWriter(j.ctx.primary, j.ctx.job.name)
  const c1 = await w.checkpoint('chk-1', {alpha: {a: 'a one', b: 'b shared'}, beta: {x: 'x one'}})
  const c2 = await w.checkpoint('chk-2', {alpha: {a: 'a two', b: 'b shared'}, beta: {x: 'x one'}}, {base: 'chk-1'})
  const c3 = await w.checkpoint('chk-3', {alpha: {a: 'a three'}, beta: {x: 'x three'}}, {base: 'chk-2'})
  return {w, c1, c2, c3}
}

const file = (j: CheckpointJob, key: string) => path.join(j.target.url, ...key.split('/'))

describe('verify of format 2', () => {
  it('passes a sound chain, data included', async () => {
    const j = await checkpointJob(fileKind)
    try {
      await chain(j)
      const result = await verifyCheckpoints(j.ctx, {all: true, data: {kind: 'all'}})
      assert.equal(result.ok, true, JSON.stringify(result.checkpoints.flatMap((c) => c.problems)))
      assert.deepEqual(
        result.checkpoints.map((c) => [c.checkpointId, c.filesRead]),
        [
          ['chk-1', 3],
          ['chk-2', 3],
          ['chk-3', 2],
        ],
      )
    } finally {
      await j.cleanup()
    }
  })

  it('a missing shared pack fails every checkpoint needing it, each naming the others', async () => {
    const j = await checkpointJob(fileKind)
    try {
      const {c1} = await chain(j)
      const shared = keys.pack(j.ctx.job.name, c1.newPacks[0])
      await fs.rm(file(j, shared))
      const result = await verifyCheckpoints(j.ctx, {all: true})
      assert.equal(result.ok, false)
      const verdict = (id: string) => result.checkpoints.find((c) => c.checkpointId === id)!
      assert.equal(verdict('chk-3').ok, true, 'chk-3 needs none of chk-1 pack')
      for (const [id, others] of [
        ['chk-1', ['chk-2']],
        ['chk-2', ['chk-1']],
      ] as const) {
        assert.equal(verdict(id).ok, false)
        const problems = verdict(id).problems.filter((p) => p.object === shared)
        assert.ok(problems.length >= 1, JSON.stringify(verdict(id).problems))
        for (const p of problems) {
          assert.match(p.problem, /is missing/)
          assert.deepEqual(p.alsoBreaks, others)
        }
      }
      const latest = await verifyCheckpoints(j.ctx, {ids: ['chk-2']})
      assert.deepEqual(latest.checkpoints[0].problems.find((p) => p.object === shared)?.alsoBreaks, ['chk-1'])
    } finally {
      await j.cleanup()
    }
  })

  it('--read-data with a flipped byte names the file and every checkpoint using its blob', async () => {
    const j = await checkpointJob(fileKind)
    try {
      const {c1} = await chain(j)
      const shared = file(j, keys.pack(j.ctx.job.name, c1.newPacks[0]))
      const bytes = await fs.readFile(shared)
      const at = bytes.indexOf('b shared')
      assert.ok(at >= 0)
      bytes[at] ^= 0x01
      await fs.writeFile(shared, bytes)
      const plain = await verifyCheckpoints(j.ctx, {all: true})
      assert.equal(plain.ok, true, 'sizes alone do not see a flipped byte')
      const result = await verifyCheckpoints(j.ctx, {ids: ['chk-2'], data: {kind: 'all'}})
      assert.equal(result.ok, false)
      const problems = result.checkpoints[0].problems
      assert.ok(
        problems.some((p) => p.object?.endsWith(c1.newPacks[0]) && /not its name/.test(p.problem)),
        JSON.stringify(problems),
      )
      const blob = problems.find((p) => p.file === 'b')!
      assert.equal(blob.taskId, 'alpha')
      assert.deepEqual(blob.alsoBreaks, ['chk-1'])
      assert.deepEqual(blob.usedBy, [
        {checkpointId: 'chk-1', taskId: 'alpha', file: 'b'},
        {checkpointId: 'chk-2', taskId: 'alpha', file: 'b'},
      ])
      assert.ok(!problems.some((p) => p.file === 'a'), 'a two lives in another pack')
    } finally {
      await j.cleanup()
    }
  })

  it("skips an aborted id as 'latest', fails it when named, and lists it as incomplete under --all", async () => {
    const j = await checkpointJob(fileKind)
    try {
      const {w} = await chain(j)
      await w.abort('chk-4', 'took longer than half the grace period')
      const latest = await verifyCheckpoints(j.ctx)
      assert.deepEqual(
        latest.checkpoints.map((c) => [c.checkpointId, c.ok]),
        [['chk-3', true]],
      )
      const named = await verifyCheckpoints(j.ctx, {ids: ['chk-4']})
      assert.equal(named.ok, false)
      assert.equal(named.checkpoints[0].status, 'incomplete')
      assert.equal(named.checkpoints[0].aborted, true)
      assert.match(named.checkpoints[0].problems[0].problem, /aborted \(took longer/)
      const all = await verifyCheckpoints(j.ctx, {all: true})
      assert.equal(all.ok, true)
      assert.deepEqual(all.checkpoints.at(-1), {checkpointId: 'chk-4', status: 'incomplete', aborted: true, ok: true, problems: [], filesRead: 0, bytesRead: 0})
    } finally {
      await j.cleanup()
    }
  })

  it('--read-data of a pack with a damaged trailer says so, and still checks every blob by its range', async () => {
    const j = await checkpointJob(fileKind)
    try {
      const {c1} = await chain(j)
      const shared = file(j, keys.pack(j.ctx.job.name, c1.newPacks[0]))
      const bytes = await fs.readFile(shared)
      bytes[bytes.length - 17] = 0x20 // the trailer's closing brace
      await fs.writeFile(shared, bytes)
      const result = await verifyCheckpoints(j.ctx, {ids: ['chk-1'], data: {kind: 'all'}})
      const problems = result.checkpoints[0].problems
      assert.ok(
        problems.some((p) => /trailer is not valid JSON/.test(p.problem)),
        JSON.stringify(problems),
      )
      assert.ok(problems.some((p) => /not its name/.test(p.problem)))
      assert.ok(!problems.some((p) => p.file), 'every blob is intact')
      assert.equal(result.checkpoints[0].filesRead, 3)
    } finally {
      await j.cleanup()
    }
  })
})
