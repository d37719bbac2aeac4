// The read side of format 2 through the built CLI, on checkpoints taken by the CLI (format 2), on
// the file store and on Azurite: restore from
// the primary, the local copy and both; show; export to a file and to stdout, extracted by GNU tar;
// and the failures: a missing pack (restore falls back), a flipped byte (export exits 1, no file).
import assert from 'node:assert/strict'
import {execFileSync, spawnSync} from 'node:child_process'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {resolveSettings} from '../../src/core/config/settings.js'
import {openJob, type JobContext} from '../../src/core/context.js'
import {keys} from '../../src/core/format/keys.js'
import {getBuffer} from '../../src/core/stores/store.js'
import {binRun, cliEnv, runCli} from '../helpers/cli.js'
import {exists, makeTree, writeJob} from '../helpers/job.js'
import {primaryKinds, tempDir, type PrimaryTarget} from '../helpers/primaries.js'
import {describeState} from '../helpers/tree-state.js'

const tasks = ['alpha', 'beta']
type Tree = Awaited<ReturnType<typeof describeState>>

for (const kind of primaryKinds) {
  describe(`format 2 read side on the ${kind.name} store`, () => {
    let dir: string
    let cleanup: () => Promise<void>
    let target: PrimaryTarget
    let ctx: JobContext
    const expected: Record<string, Record<string, Tree>> = {}
    const state = (task: string) => path.join(dir, 'state', task)
    const ckpt = (args: string[]) => runCli([...args, '--json'], {cwd: dir, env: target.env})
    const wipe = async () => {
      for (const task of tasks) await fs.rm(state(task), {recursive: true, force: true})
    }
    const assertState = async (id: string) => {
      for (const task of tasks) assert.deepEqual(await describeState(state(task)), expected[id][task], `${id}/${task}`)
    }

    before(async () => {
      await kind.setup()
      ;({dir, cleanup} = await tempDir())
      target = await kind.fresh(dir)
      const jobFile = await writeJob(dir, {tasks: tasks.map((id) => ({id})), primary: target.url, localRoots: [path.join(dir, 'local')], extra: {checkpoint: {format: 2}}})
      Object.assign(process.env, target.env)
      ctx = await openJob(await resolveSettings({jobFile, node: 'test-node'}, process.env))
      // 1 MiB packs, so a task's bytes lie in several packs and a restore reads several ranges.
      const config = {format: 2, digest: 'blake3', chunkSize: 1 << 20, packSize: 1 << 20, createdAt: new Date().toISOString(), node: 'test-node'}
      await ctx.primary.put(keys.jobConfig('testjob'), Buffer.from(JSON.stringify(config)))
      for (const task of tasks) await makeTree(state(task), {bigBytes: 2_500_000, seed: task})
      for (const id of ['chk-1', 'chk-2']) {
        for (const task of tasks) await fs.writeFile(path.join(state(task), 'top.txt'), `${id} ${task}\n`)
        const take = await ckpt(['checkpoint', 'take'])
        assert.equal(take.code, 0, take.stdout + take.stderr)
        assert.deepEqual([take.json.checkpointId, take.json.format], [id, 2])
        expected[id] = {}
        for (const task of tasks) expected[id][task] = await describeState(state(task))
      }
    })
    after(async () => {
      await ctx?.close()
      await cleanup?.()
      await kind.teardown()
    })

    it('restores from the primary (--prefer remote), the local copy, and both (mixed)', async () => {
      await wipe()
      const remote = await ckpt(['restore', 'chk-1', '--prefer', 'remote'])
      assert.equal(remote.code, 0, remote.stdout + remote.stderr)
      assert.deepEqual(
        remote.json.tasks.map((t: any) => [t.source, t.inPlaceBytes, t.localBytes, t.remoteBytes > 2_500_000]),
        [
          ['remote', 0, 0, true],
          ['remote', 0, 0, true],
        ],
      )
      await assertState('chk-1')

      await wipe()
      const local = await ckpt(['restore', 'chk-2'])
      assert.equal(local.code, 0, local.stdout + local.stderr)
      assert.deepEqual(
        local.json.tasks.map((t: any) => [t.source, t.remoteBytes]),
        [
          ['local', 0],
          ['local', 0],
        ],
      )
      await assertState('chk-2')

      await wipe()
      const copy = path.join(dir, 'local', 'test-node', 'testjob', 'alpha', 'chk-2', 'state')
      await fs.rm(path.join(copy, 'big.bin'))
      await fs.rm(path.join(copy, 'nested', 'a.bin'))
      const mixed = await ckpt(['restore', 'chk-2'])
      assert.equal(mixed.code, 0, mixed.stdout + mixed.stderr)
      assert.deepEqual(
        mixed.json.tasks.map((t: any) => [t.taskId, t.source, t.remoteBytes]),
        [
          ['alpha', 'mixed', 2_570_000],
          ['beta', 'local', 0],
        ],
      )
      await assertState('chk-2')
    })

    it('shows a format-2 checkpoint with format, base, addedBytes and blob counts', async () => {
      const show = await ckpt(['checkpoint', 'show', 'chk-2'])
      assert.equal(show.code, 0, show.stderr)
      assert.equal(show.json.format, 2)
      assert.equal(show.json.digest, 'blake3')
      const alpha = show.json.tasks[0]
      assert.deepEqual([alpha.taskId, alpha.format, typeof alpha.addedBytes, alpha.archive], ['alpha', 2, 'number', undefined])
      const big = alpha.entries.find((e: any) => e.path === 'big.bin')
      assert.deepEqual([big.size, big.blobs, big.sha256], [2_500_000, 3, undefined])
    })

    it('exports a task as a tar that GNU tar extracts to the state, to a file and to stdout alike', async () => {
      const file = path.join(dir, 'alpha.tar')
      const out = await ckpt(['checkpoint', 'export', 'chk-1', '--task', 'alpha', '-o', file])
      assert.equal(out.code, 0, out.stdout + out.stderr)
      assert.deepEqual([out.json.format, out.json.output, out.json.files], [2, file, expected['chk-1'].alpha.entries.filter((e) => e.type === 'file').length])
      const into = path.join(dir, 'extracted')
      await fs.mkdir(into)
      execFileSync('tar', ['-xpf', file, '-C', into, '--numeric-owner'])
      assert.deepEqual((await describeState(into)).entries, expected['chk-1'].alpha.entries)
      const piped = spawnSync(process.execPath, [binRun, 'checkpoint', 'export', 'chk-1', '--task', 'alpha'], {cwd: dir, env: cliEnv(target.env), maxBuffer: 64 << 20})
      assert.equal(piped.status, 0, piped.stderr.toString())
      assert.ok(piped.stdout.equals(await fs.readFile(file)), 'stdout holds the same tar')
      assert.deepEqual(await fs.readdir(dir).then((names) => names.filter((n) => n.includes('ckpt-tmp'))), [])
    })

    it('refuses an unknown task or id, and --json without -o, with exit 2', async () => {
      for (const args of [
        ['checkpoint', 'export', 'chk-1', '--task', 'gamma', '-o', 'x.tar'],
        ['checkpoint', 'export', 'chk-9', '--task', 'alpha', '-o', 'x.tar'],
        ['checkpoint', 'export', 'chk-1', '--task', 'alpha'],
      ]) {
        const result = await ckpt(args)
        assert.equal(result.code, 2, `${args.join(' ')}: ${result.stdout}${result.stderr}`)
      }
    })

    it('exits 1 and leaves no file when a pack has a flipped byte; restore falls back past a missing pack', async () => {
      const index = JSON.parse((await getBuffer(ctx.primary, keys.index('testjob', 'chk-2' as never, 'alpha'))).toString())
      // top.txt changed in chk-2: its blob is in a pack that chk-1 does not use
      const [ordinal, offset] = index.entries.find((e: any) => e.path === 'top.txt').blobs[0]
      const key = keys.pack('testjob', index.packs[ordinal].id)
      const pack = await getBuffer(ctx.primary, key)
      pack[offset] ^= 0xff
      await ctx.primary.put(key, pack)
      await fs.rm(path.join(dir, 'local'), {recursive: true})
      const file = path.join(dir, 'broken.tar')
      const out = await ckpt(['checkpoint', 'export', 'chk-2', '--task', 'alpha', '-o', file])
      assert.equal(out.code, 1, out.stdout + out.stderr)
      assert.match(out.json.error.message, /does not match its digest/)
      assert.equal(await exists(file), false)
      assert.deepEqual(
        (await fs.readdir(dir)).filter((n) => n.includes('ckpt-tmp')),
        [],
      )

      await ctx.primary.delete(key)
      await wipe()
      const restore = await ckpt(['restore', '--prefer', 'remote'])
      assert.equal(restore.code, 0, restore.stdout + restore.stderr)
      assert.equal(restore.json.checkpointId, 'chk-1')
      assert.deepEqual(
        restore.json.fallbacks.map((f: any) => f.checkpointId),
        ['chk-2'],
      )
      await assertState('chk-1')
    })
  })
}
