// take and restore end to end through the built CLI, against every primary store kind.
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {openPrimaryStore} from '../../src/core/stores/registry.js'
import {getBuffer} from '../../src/core/stores/store.js'
import {runCli, startCli, collectCli} from '../helpers/cli.js'
import {fingerprint, makeTree, writeJob, FORMAT_1} from '../helpers/job.js'
import {primaryKinds, tempDir, type PrimaryTarget} from '../helpers/primaries.js'

const MiB = 1 << 20

for (const kind of primaryKinds) {
  describe(`take and restore on the ${kind.name} store`, () => {
    before(() => kind.setup())
    after(() => kind.teardown())

    /** `extra: FORMAT_1` for a test of format 1's own objects (its tar, its plan that hashes a copy). */
    async function job(tasks = ['alpha', 'beta'], localRoots?: string[], extra?: Record<string, unknown>) {
      const {dir, cleanup} = await tempDir()
      const target = await kind.fresh(dir)
      await writeJob(dir, {tasks: tasks.map((id) => ({id})), primary: target.url, localRoots, extra})
      const ckpt = (args: string[]) => runCli([...args, '--json'], {cwd: dir, env: target.env})
      return {dir, target, cleanup, ckpt, state: (id: string) => path.join(dir, 'state', id)}
    }

    async function openStore(dir: string, target: PrimaryTarget) {
      return openPrimaryStore(target.url, {baseDir: dir, env: {...process.env, ...target.env}})
    }

    it('reproduces every file byte for byte, modes included, from the local copy and from the primary', async () => {
      const j = await job()
      try {
        await makeTree(j.state('alpha'), {bigBytes: 50 * MiB})
        await makeTree(j.state('beta'), {seed: 'b'})
        const before = {alpha: await fingerprint(j.state('alpha')), beta: await fingerprint(j.state('beta'))}
        const take = await j.ckpt(['checkpoint', 'take'])
        assert.equal(take.code, 0, take.stderr)
        assert.equal(take.json.checkpointId, 'chk-1')
        assert.equal(take.json.status, 'completed')
        assert.deepEqual(
          take.json.tasks.map((t: any) => [t.taskId, t.secondary]),
          [
            ['alpha', 'written'],
            ['beta', 'written'],
          ],
        )
        assert.ok(take.json.tasks[0].bytes > 50 * MiB)

        await fs.rm(path.join(j.state('alpha'), 'nested'), {recursive: true})
        await fs.writeFile(path.join(j.state('alpha'), 'top.txt'), 'changed')
        await fs.writeFile(path.join(j.state('beta'), 'new-file'), 'not in the checkpoint')
        const local = await j.ckpt(['restore'])
        assert.equal(local.code, 0, local.stderr)
        assert.deepEqual(
          local.json.tasks.map((t: any) => t.source),
          ['local', 'local'],
        )
        assert.equal(local.json.planned, false)
        assert.deepEqual(await fingerprint(j.state('alpha')), before.alpha)
        assert.deepEqual(await fingerprint(j.state('beta')), before.beta)

        await fs.rm(path.join(j.dir, '.ckpt', 'local'), {recursive: true})
        // Neither a local copy nor the state itself (format 2 keeps a stateDir's matching files) can serve.
        await fs.rm(j.state('alpha'), {recursive: true})
        await fs.rm(j.state('beta'), {recursive: true})
        const remote = await j.ckpt(['restore'])
        assert.equal(remote.code, 0, remote.stderr)
        assert.deepEqual(
          remote.json.tasks.map((t: any) => [t.source, t.localBytes]),
          [
            ['remote', 0],
            ['remote', 0],
          ],
        )
        assert.deepEqual(await fingerprint(j.state('alpha')), before.alpha)
        assert.deepEqual(await fingerprint(j.state('beta')), before.beta)
        const leftovers = (await fs.readdir(path.join(j.dir, 'state'))).filter((n) => n.startsWith('.'))
        assert.deepEqual(leftovers, [], 'no staging folders are left beside the state')
      } finally {
        await j.cleanup()
      }
    })

    it('completes with a warning when the local root cannot be written, and restores from the primary', async () => {
      const {dir, cleanup} = await tempDir()
      try {
        await fs.writeFile(path.join(dir, 'blocker'), 'a regular file where a folder should be')
        const target = await kind.fresh(dir)
        await writeJob(dir, {tasks: [{id: 'alpha'}], primary: target.url, localRoots: ['blocker/local']})
        await makeTree(path.join(dir, 'state', 'alpha'))
        const before = await fingerprint(path.join(dir, 'state', 'alpha'))
        const take = await runCli(['checkpoint', 'take', '--json'], {cwd: dir, env: target.env})
        assert.equal(take.code, 0, take.stderr)
        assert.equal(take.json.tasks[0].secondary, 'failed')
        assert.match(take.json.tasks[0].warning, /secondary copy not written/)
        assert.match(take.stderr, /Warning: task alpha: secondary copy not written/)
        await fs.rm(path.join(dir, 'state', 'alpha'), {recursive: true})
        const restore = await runCli(['restore', '--json'], {cwd: dir, env: target.env})
        assert.equal(restore.code, 0, restore.stderr)
        assert.equal(restore.json.tasks[0].source, 'remote')
        assert.deepEqual(await fingerprint(path.join(dir, 'state', 'alpha')), before)
      } finally {
        await cleanup()
      }
    })

    it('repairs a flipped byte in a secondary copy from the primary, and says mixed', async () => {
      const j = await job(['alpha'], undefined, FORMAT_1)
      try {
        await makeTree(j.state('alpha'))
        const before = await fingerprint(j.state('alpha'))
        assert.equal((await j.ckpt(['checkpoint', 'take'])).code, 0)
        const copied = path.join(j.dir, '.ckpt', 'local', 'test-node', 'testjob', 'alpha', 'chk-1', 'state', 'nested', 'a.bin')
        const bytes = await fs.readFile(copied)
        bytes[1234] ^= 0xff
        await fs.writeFile(copied, bytes)
        const plan = await j.ckpt(['restore', '--plan'])
        assert.equal(plan.code, 0, plan.stderr)
        assert.equal(plan.json.planned, true)
        assert.equal(plan.json.tasks[0].source, 'mixed')
        assert.equal(plan.json.tasks[0].remoteBytes, 70_000)
        assert.match(plan.json.tasks[0].reason, /1 of \d+ files/)
        await fs.writeFile(path.join(j.state('alpha'), 'top.txt'), 'changed after the checkpoint')
        const restore = await j.ckpt(['restore'])
        assert.equal(restore.code, 0, restore.stderr)
        assert.equal(restore.json.tasks[0].source, 'mixed')
        assert.deepEqual(await fingerprint(j.state('alpha')), before)
      } finally {
        await j.cleanup()
      }
    })

    it('falls back to the previous checkpoint when an object of the newest is gone', async () => {
      const j = await job(undefined, undefined, FORMAT_1)
      try {
        await makeTree(j.state('alpha'), {seed: 'one'})
        await makeTree(j.state('beta'), {seed: 'one'})
        const first = {alpha: await fingerprint(j.state('alpha')), beta: await fingerprint(j.state('beta'))}
        assert.equal((await j.ckpt(['checkpoint', 'take'])).code, 0)
        await fs.writeFile(path.join(j.state('alpha'), 'top.txt'), 'second')
        await fs.writeFile(path.join(j.state('beta'), 'top.txt'), 'second')
        assert.equal((await j.ckpt(['checkpoint', 'take'])).json.checkpointId, 'chk-2')
        const store = await openStore(j.dir, j.target)
        await store.delete('testjob/data/chk-2/beta.tar')
        await store.close()

        const remote = await j.ckpt(['restore', '--prefer', 'remote'])
        assert.equal(remote.code, 0, remote.stderr)
        assert.equal(remote.json.checkpointId, 'chk-1')
        assert.deepEqual(
          remote.json.tasks.map((t: any) => [t.taskId, t.checkpointId, t.source]),
          [
            ['alpha', 'chk-1', 'remote'],
            ['beta', 'chk-1', 'remote'],
          ],
        )
        assert.equal(remote.json.fallbacks[0].checkpointId, 'chk-2')
        assert.deepEqual(await fingerprint(j.state('alpha')), first.alpha)
        assert.deepEqual(await fingerprint(j.state('beta')), first.beta)

        const plan = await j.ckpt(['restore', '--plan', '--prefer', 'remote'])
        assert.equal(plan.json.checkpointId, 'chk-1')

        const strict = await j.ckpt(['restore', '--prefer', 'remote', '--no-fallback'])
        assert.equal(strict.code, 4)
        assert.equal(strict.json.error.exit, 4)
        assert.match(strict.json.error.message, /chk-2/)

        await fs.rm(path.join(j.dir, '.ckpt', 'local'), {recursive: true})
        await fs.writeFile(path.join(j.state('alpha'), 'top.txt'), 'third')
        const noLocal = await j.ckpt(['restore'])
        assert.equal(noLocal.code, 0, noLocal.stderr)
        assert.equal(noLocal.json.checkpointId, 'chk-1')
        assert.deepEqual(await fingerprint(j.state('alpha')), first.alpha)
      } finally {
        await j.cleanup()
      }
    })

    it('restores from the primary in segments smaller than its files, many at once, and falls back on a flipped byte', async () => {
      const j = await job(['alpha'], undefined, FORMAT_1)
      try {
        await makeTree(j.state('alpha'), {bigBytes: 3 * MiB, seed: 'one'})
        const first = await fingerprint(j.state('alpha'))
        assert.equal((await j.ckpt(['checkpoint', 'take'])).code, 0)
        await fs.rm(j.state('alpha'), {recursive: true})
        await makeTree(j.state('alpha'), {bigBytes: 3 * MiB, seed: 'two'})
        const second = await fingerprint(j.state('alpha'))
        // 64 KiB blocks, 16 in flight: segments are the archive split 16 ways (about 200 KiB), so the
        // big file spans about 16 of them and small files share.
        const small = ['--block-size', '64KiB', '--concurrency', '16']
        const take = await j.ckpt(['checkpoint', 'take', ...small])
        assert.equal(take.json.checkpointId, 'chk-2')
        assert.equal(take.stderr, '', 'no warnings')

        await fs.rm(j.state('alpha'), {recursive: true})
        const remote = await j.ckpt(['restore', '--prefer', 'remote', ...small])
        assert.equal(remote.code, 0, remote.stderr)
        assert.equal(remote.stderr, '', 'no warnings')
        assert.equal(remote.json.tasks[0].source, 'remote')
        assert.deepEqual(await fingerprint(j.state('alpha')), second)

        // A flipped byte in the first file and one in the middle of the big file of chk-2's
        // archive: the first mismatch stops the other segments, and chk-1 serves instead.
        const store = await openStore(j.dir, j.target)
        const key = 'testjob/data/chk-2/alpha.tar'
        const index = JSON.parse((await getBuffer(store, 'testjob/data/chk-2/alpha.index.json')).toString())
        const firstFile = index.entries.find((e: any) => e.type === 'file' && e.size > 0)
        const archive = await getBuffer(store, key)
        archive[firstFile.offset] ^= 0xff
        archive[archive.length >> 1] ^= 0xff
        await store.put(key, archive)
        await store.close()
        const fallback = await j.ckpt(['restore', '--prefer', 'remote', ...small])
        assert.equal(fallback.code, 0, fallback.stderr)
        assert.equal(fallback.json.checkpointId, 'chk-1')
        assert.match(fallback.json.fallbacks[0].reason, /in the primary copy does not match its digest/)
        assert.deepEqual(await fingerprint(j.state('alpha')), first)
        const leftovers = (await fs.readdir(path.join(j.dir, 'state'))).filter((n) => n.startsWith('.'))
        assert.deepEqual(leftovers, [], 'no staging folders are left beside the state')
      } finally {
        await j.cleanup()
      }
    })

    it('gives two takes started together two distinct ids, both valid', async () => {
      const j = await job(['alpha'])
      try {
        await makeTree(j.state('alpha'), {bigBytes: 4 * MiB})
        const before = await fingerprint(j.state('alpha'))
        const [a, b] = await Promise.all([0, 1].map(() => collectCli(startCli(['checkpoint', 'take', '--json', '--node', 'test-node'], {cwd: j.dir, env: j.target.env}))))
        assert.equal(a.code, 0, a.stderr)
        assert.equal(b.code, 0, b.stderr)
        assert.notEqual(a.json.checkpointId, b.json.checkpointId)
        assert.deepEqual([a.json.checkpointId, b.json.checkpointId].sort(), ['chk-1', 'chk-2'])
        const list = await j.ckpt(['checkpoint', 'list'])
        assert.deepEqual(
          list.json.checkpoints.map((c: any) => c.status),
          ['completed', 'completed'],
        )
        for (const id of ['chk-1', 'chk-2']) {
          await fs.rm(j.state('alpha'), {recursive: true})
          const restore = await j.ckpt(['restore', id, '--prefer', 'remote', '--no-fallback'])
          assert.equal(restore.code, 0, restore.stderr)
          assert.deepEqual(await fingerprint(j.state('alpha')), before)
        }
      } finally {
        await j.cleanup()
      }
    })

    it('spreads tasks over several local roots and restores each from its own', async () => {
      const {dir, cleanup} = await tempDir()
      try {
        const target = await kind.fresh(dir)
        await writeJob(dir, {tasks: [{id: 'alpha'}, {id: 'beta'}], primary: target.url})
        await makeTree(path.join(dir, 'state', 'alpha'))
        await makeTree(path.join(dir, 'state', 'beta'), {seed: 'b'})
        const before = {alpha: await fingerprint(path.join(dir, 'state', 'alpha')), beta: await fingerprint(path.join(dir, 'state', 'beta'))}
        const roots = ['--local-root', path.join(dir, 'disk-1'), '--local-root', path.join(dir, 'disk-2')]
        const ckpt = (args: string[]) => runCli([...args, ...roots, '--json'], {cwd: dir, env: target.env})
        assert.equal((await ckpt(['checkpoint', 'take'])).code, 0)
        const local = await ckpt(['local', 'list'])
        assert.deepEqual(
          local.json.copies.map((c: any) => [c.taskId, c.root]),
          [
            ['alpha', path.join(dir, 'disk-1')],
            ['beta', path.join(dir, 'disk-2')],
          ],
        )
        await fs.rm(path.join(dir, 'state'), {recursive: true})
        const restore = await ckpt(['restore'])
        assert.equal(restore.code, 0, restore.stderr)
        assert.deepEqual(
          restore.json.tasks.map((t: any) => t.source),
          ['local', 'local'],
        )
        assert.deepEqual(await fingerprint(path.join(dir, 'state', 'alpha')), before.alpha)
        assert.deepEqual(await fingerprint(path.join(dir, 'state', 'beta')), before.beta)
      } finally {
        await cleanup()
      }
    })

    it('lists and shows checkpoints and local copies', async () => {
      const j = await job(['alpha'])
      try {
        await makeTree(j.state('alpha'))
        for (let i = 0; i < 3; i++) assert.equal((await j.ckpt(['checkpoint', 'take'])).code, 0)
        const list = await j.ckpt(['checkpoint', 'list'])
        assert.deepEqual(
          list.json.checkpoints.map((c: any) => [c.checkpointId, c.status, c.tasks]),
          [
            ['chk-1', 'completed', 1],
            ['chk-2', 'completed', 1],
            ['chk-3', 'completed', 1],
          ],
        )
        assert.ok(list.json.checkpoints.every((c: any) => c.bytes > 70_000 && !Number.isNaN(Date.parse(c.createdAt))))
        const show = await j.ckpt(['checkpoint', 'show', 'latest'])
        assert.equal(show.json.checkpointId, 'chk-3')
        assert.equal(show.json.status, 'completed')
        const files = show.json.tasks[0].entries.filter((e: any) => e.type === 'file')
        assert.equal(show.json.tasks[0].files, files.length)
        assert.ok(files.some((e: any) => e.path === 'nested/secret.key' && e.mode === '0600'))
        const local = await j.ckpt(['local', 'list'])
        assert.deepEqual(
          local.json.copies.map((c: any) => [c.taskId, c.checkpointId, c.status, c.node]),
          [['alpha', 'chk-3', 'confirmed', 'test-node']],
          'local retention keeps the newest confirmed copy',
        )
        const missing = await j.ckpt(['checkpoint', 'show', 'chk-9'])
        assert.equal(missing.code, 2)
      } finally {
        await j.cleanup()
      }
    })
  })
}
