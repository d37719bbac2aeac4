// 'ckpt unlock' through the built CLI: shows whose locks were left behind and removes them.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {hostname} from 'node:os'
import {after, before, describe, it} from 'node:test'
import {lockKey, readLocks} from '../../src/core/lock/records.js'
import {checkpointJob} from '../helpers/checkpoints.js'
import {primaryKinds} from '../helpers/primaries.js'

for (const kind of primaryKinds) {
  describe(`ckpt unlock on the ${kind.name} store`, () => {
    before(() => kind.setup())
    after(() => kind.teardown())

    it('removes a lock whose process is gone, keeps a live one unless --all', async () => {
      const j = await checkpointJob(kind)
      try {
        const job = j.ctx.job.name
        const gone = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString())
        const at = new Date().toISOString()
        const plant = (lockId: string, extra: object) =>
          j.ctx.primary.put(
            lockKey(job, lockId),
            Buffer.from(JSON.stringify({format: 1, lockId, mode: 'exclusive', purpose: 'prune', job, node: 'n9', host: hostname(), pid: gone, createdAt: at, refreshedAt: at, ...extra})),
          )
        await plant('exclusive-gone', {})
        await plant('shared-far', {mode: 'shared', purpose: 'take', host: 'far-away', pid: 1})
        const blocked = await j.ckpt(['checkpoint', 'prune', '--lock-wait', '0'])
        assert.equal(blocked.code, 1)
        assert.match(blocked.json.error.message, /shared lock for take held by pid 1 on host far-away \(node n9\).*ckpt unlock/)
        const first = await j.ckpt(['unlock'])
        assert.equal(first.code, 0, first.stderr)
        assert.deepEqual(
          first.json.removed.map((l: any) => [l.lockId, l.pid, l.node]),
          [],
          'the prune above already took over the dead lock',
        )
        await plant('exclusive-gone', {})
        const second = await j.ckpt(['unlock'])
        assert.deepEqual(
          second.json.removed.map((l: any) => [l.lockId, l.purpose, l.pid, l.host]),
          [['exclusive-gone', 'prune', gone, hostname()]],
        )
        assert.match(second.json.removed[0].stale, /is gone/)
        assert.deepEqual(
          second.json.kept.map((l: any) => l.lockId),
          ['shared-far'],
        )
        const human = await j.ckpt(['unlock', '--all', '--dry-run'])
        assert.deepEqual(
          human.json.removed.map((l: any) => l.lockId),
          ['shared-far'],
        )
        const all = await j.ckpt(['unlock', '--all'])
        assert.deepEqual(
          all.json.removed.map((l: any) => l.lockId),
          ['shared-far'],
        )
        assert.deepEqual(await readLocks(j.ctx.primary, job), [])
      } finally {
        await j.cleanup()
      }
    })
  })
}
