// 'ckpt local prune' through the built CLI: retention, --max-size, orphans after a primary prune, leftovers.
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {checkpointJob} from '../../helpers/checkpoints.js'
import {primaryKinds} from '../../helpers/primaries.js'

const pairs = (list: any[]) => list.map((c) => `${c.taskId}@${c.checkpointId}`).sort()

for (const kind of primaryKinds) {
  describe(`ckpt local prune on the ${kind.name} store`, () => {
    before(() => kind.setup())
    after(() => kind.teardown())

    it("with --max-size evicts the oldest confirmed copies but keeps each task's newest", async () => {
      const j = await checkpointJob(kind, {extra: {retain: {local: 5}}})
      try {
        await j.take(3)
        const list = await j.ckpt(['local', 'list'])
        assert.equal(list.code, 0, list.stderr)
        assert.equal(list.json.copies.length, 6)
        const alpha1 = list.json.copies.find((c: any) => c.taskId === 'alpha' && c.checkpointId === 'chk-1').bytes
        const total = list.json.copies.reduce((sum: number, c: any) => sum + c.bytes, 0)
        const one = await j.ckpt(['local', 'prune', '--max-size', String(total - 1)])
        assert.equal(one.code, 0, one.stderr)
        assert.equal(one.json.removed.length, 1)
        assert.equal(one.json.removed[0].checkpointId, 'chk-1')
        assert.ok(one.json.bytes <= total - 1 && one.json.bytes >= total - alpha1 - 100)
        const tiny = await j.ckpt(['local', 'prune', '--max-size', '1'])
        assert.deepEqual(pairs(tiny.json.kept), ['alpha@chk-3', 'beta@chk-3'])
        assert.equal(tiny.json.removed.length, 3)
        assert.match(tiny.stderr, /over the size limit of/)
        assert.deepEqual(pairs((await j.ckpt(['local', 'list'])).json.copies), ['alpha@chk-3', 'beta@chk-3'])
      } finally {
        await j.cleanup()
      }
    })

    it('finds orphans after a primary prune and removes them; --dry-run changes nothing', async () => {
      const j = await checkpointJob(kind, {extra: {retain: {local: 5}}})
      try {
        await j.take(3)
        const pruned = await j.ckpt(['checkpoint', 'prune', '--retain', '1'])
        assert.deepEqual(pruned.json.removed, ['chk-1', 'chk-2'])
        const list = await j.ckpt(['local', 'list'])
        assert.deepEqual(
          list.json.copies.map((c: any) => `${c.taskId}@${c.checkpointId}:${c.status}`),
          ['alpha@chk-1:orphaned', 'alpha@chk-2:orphaned', 'alpha@chk-3:confirmed', 'beta@chk-1:orphaned', 'beta@chk-2:orphaned', 'beta@chk-3:confirmed'],
        )
        const dry = await j.ckpt(['local', 'prune', '--keep', '5', '--dry-run'])
        assert.deepEqual([dry.json.dryRun, pairs(dry.json.removed)], [true, ['alpha@chk-1', 'alpha@chk-2', 'beta@chk-1', 'beta@chk-2']])
        assert.equal((await j.ckpt(['local', 'list'])).json.copies.length, 6)
        const real = await j.ckpt(['local', 'prune', '--keep', '5'])
        assert.deepEqual(pairs(real.json.removed), ['alpha@chk-1', 'alpha@chk-2', 'beta@chk-1', 'beta@chk-2'])
        assert.ok(real.json.removed.every((c: any) => c.root === path.join(j.dir, 'local') && /orphaned/.test(c.reason)))
        assert.deepEqual(pairs((await j.ckpt(['local', 'list'])).json.copies), ['alpha@chk-3', 'beta@chk-3'])
      } finally {
        await j.cleanup()
      }
    })

    it('removes unfinished leftovers past the grace period and keeps young ones', async () => {
      const j = await checkpointJob(kind)
      try {
        await j.take(1)
        const taskDir = path.join(j.dir, 'local', 'test-node', 'testjob', 'alpha')
        for (const name of ['chk-7.partial-0001', 'chk-8.partial-0002']) {
          await fs.mkdir(path.join(taskDir, name, 'state'), {recursive: true})
          await fs.writeFile(path.join(taskDir, name, 'state', 'x'), 'half')
        }
        const old = new Date(Date.now() - 2 * 3600_000)
        await fs.utimes(path.join(taskDir, 'chk-7.partial-0001'), old, old)
        const result = await j.ckpt(['local', 'prune'])
        assert.deepEqual(pairs(result.json.removed), ['alpha@chk-7'])
        assert.match(result.json.removed[0].reason, /unfinished leftover older than the grace period/)
        assert.deepEqual(pairs(result.json.kept), ['alpha@chk-1', 'alpha@chk-8', 'beta@chk-1'])
        assert.deepEqual((await fs.readdir(taskDir)).sort(), ['chk-1', 'chk-8.partial-0002'])
      } finally {
        await j.cleanup()
      }
    })
  })
}
