// Restore against the file system as it really is: links, mount points, a full disk, a kill -9 in
// the middle of the swap, and a hostile or broken file primary (FIFOs, lying indexes, sly links).
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {keys} from '../../src/core/format/keys.js'
import {getBuffer} from '../../src/core/stores/store.js'
import {runCli} from '../helpers/cli.js'
import {checkpointJob, type CheckpointJob} from '../helpers/checkpoints.js'
import {exists, fingerprint, FORMAT_1} from '../helpers/job.js'
import {fileKind} from '../helpers/primaries.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

function sh(cmd: string, ...args: string[]): void {
  const r = spawnSync(cmd, args, {encoding: 'utf8'})
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`)
}

/** Rewrites a task's index in the primary (and the manifest's digest of it), as a hostile store may. */
async function rewriteIndex(j: CheckpointJob, id: string, taskId: string, mutate: (entries: any[]) => void): Promise<void> {
  const {primary: store, job} = j.ctx
  const indexKey = keys.index(job.name, id, taskId)
  const index = JSON.parse((await getBuffer(store, indexKey)).toString('utf8'))
  mutate(index.entries)
  const raw = Buffer.from(JSON.stringify(index))
  await store.put(indexKey, raw)
  const manifest = await j.manifest(id)
  const record = manifest.tasks.find((t: any) => t.taskId === taskId)
  record.indexSize = raw.length
  record.indexSha256 = sha(raw)
  await store.put(keys.manifest(job.name, id), Buffer.from(JSON.stringify(manifest)))
}

/** Names beside a stateDir that a restore made: staging and swap folders. */
async function leftovers(stateDir: string): Promise<string[]> {
  return (await fs.readdir(path.dirname(stateDir))).filter((n) => n.startsWith(`.${path.basename(stateDir)}.ckpt-`))
}

describe('restore and the file system', () => {
  it('restores a stateDir that is a symlink into its target and keeps the link', async () => {
    const j = await checkpointJob(fileKind, {tasks: ['alpha']})
    try {
      const real = path.join(j.dir, 'real', 'alpha')
      await fs.mkdir(path.dirname(real), {recursive: true})
      await fs.rename(j.state('alpha'), real)
      await fs.symlink(real, j.state('alpha'))
      await j.take()
      const taken = await fingerprint(real)
      await fs.writeFile(path.join(real, 'later.txt'), 'written after the checkpoint')
      const restore = await j.ckpt(['restore'])
      assert.equal(restore.code, 0, restore.stderr)
      assert.equal((await fs.lstat(j.state('alpha'))).isSymbolicLink(), true, 'the stateDir is still a link')
      assert.equal(await fs.readlink(j.state('alpha')), real)
      assert.deepEqual(await fingerprint(real), taken, 'the target holds the checkpoint')
      assert.deepEqual(await leftovers(j.state('alpha')), [])
      assert.deepEqual(await leftovers(real), [])
    } finally {
      await j.cleanup()
    }
  })

  it('never empties a folder that a link with a leftover name beside the stateDir points to', async () => {
    const j = await checkpointJob(fileKind, {tasks: ['alpha']})
    try {
      await j.take()
      const precious = path.join(j.dir, 'precious')
      await fs.mkdir(path.join(precious, 'sub'), {recursive: true})
      await fs.writeFile(path.join(precious, 'sub', 'data.txt'), 'precious')
      const gone = spawnSync(process.execPath, ['-e', '0']).pid!
      await fs.symlink(precious, path.join(j.dir, 'state', `.alpha.ckpt-old-${gone}-0000abcd`))
      const restore = await j.ckpt(['restore'])
      assert.equal(restore.code, 0, restore.stderr)
      assert.equal(await fs.readFile(path.join(precious, 'sub', 'data.txt'), 'utf8'), 'precious')
    } finally {
      await j.cleanup()
    }
  })

  it('puts the old state back after a kill -9 between the two renames of the swap, and never deletes it', async () => {
    const j = await checkpointJob(fileKind, {tasks: ['alpha', 'beta'], extra: FORMAT_1})
    try {
      await j.take()
      await fs.writeFile(path.join(j.state('alpha'), 'precious.txt'), 'the only copy of this state')
      const before = await fingerprint(j.state('alpha'))
      const crashed = await j.ckpt(['restore'], {CKPT_TEST_CRASH_AT: 'swap'})
      assert.equal(crashed.signal, 'SIGKILL', crashed.stderr)
      assert.equal(await exists(j.state('alpha')), false, 'the crash left no stateDir (the hook fired between the renames)')
      // The next restore cannot be served (no archive, no local copy): it must still not lose the old state.
      await j.ctx.primary.delete(keys.archive('testjob', 'chk-1', 'alpha'))
      const failed = await j.ckpt(['restore', '--prefer', 'remote'])
      assert.equal(failed.code, 4, failed.stderr)
      assert.deepEqual(await fingerprint(j.state('alpha')), before, 'the old state is back whole')
      assert.deepEqual(await leftovers(j.state('alpha')), [])
    } finally {
      await j.cleanup()
    }
  })

  for (const kind of ['tmpfs', 'bind'] as const) {
    it(`refuses a stateDir that is a mount point (${kind}) before any task changes`, async () => {
      const j = await checkpointJob(fileKind, {tasks: ['alpha', 'beta']})
      const beta = j.state('beta')
      try {
        if (kind === 'tmpfs') sh('mount', '-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', beta)
        else sh('mount', '--bind', beta, beta)
        await fs.writeFile(path.join(beta, 'b.txt'), 'beta')
        await j.take()
        await fs.writeFile(path.join(j.state('alpha'), 'later.txt'), 'alpha after')
        await fs.writeFile(path.join(beta, 'later.txt'), 'beta after')
        const before = {alpha: await fingerprint(j.state('alpha')), beta: await fingerprint(beta)}
        for (const args of [['restore', '--plan'], ['restore']]) {
          const restore = await j.ckpt(args)
          assert.equal(restore.code, 1, restore.stderr)
          assert.match(restore.json.error.message, /mount point/)
          assert.ok(restore.json.error.message.includes(beta), restore.json.error.message)
        }
        assert.deepEqual(await fingerprint(j.state('alpha')), before.alpha, 'alpha was not restored either')
        assert.deepEqual(await fingerprint(beta), before.beta)
        assert.deepEqual(await leftovers(j.state('alpha')), [])
      } finally {
        spawnSync('umount', [beta])
        await j.cleanup()
      }
    })
  }

  it('puts swapped tasks back when a later swap fails, so the job stays on one checkpoint', async () => {
    const j = await checkpointJob(fileKind, {tasks: ['alpha', 'beta']})
    try {
      await j.take()
      await fs.writeFile(path.join(j.state('alpha'), 'later.txt'), 'alpha after')
      await fs.writeFile(path.join(j.state('beta'), 'later.txt'), 'beta after')
      const before = {alpha: await fingerprint(j.state('alpha')), beta: await fingerprint(j.state('beta'))}
      sh('chattr', '+i', j.state('beta')) // an immutable folder cannot be renamed: beta's swap fails
      let restore
      try {
        restore = await j.ckpt(['restore'])
      } finally {
        sh('chattr', '-i', j.state('beta'))
      }
      assert.equal(restore.code, 1, restore.stderr)
      assert.deepEqual(await fingerprint(j.state('alpha')), before.alpha, 'alpha is back on its old state')
      assert.deepEqual(await fingerprint(j.state('beta')), before.beta)
      assert.deepEqual(await leftovers(j.state('alpha')), [])
      assert.deepEqual(await leftovers(j.state('beta')), [])
    } finally {
      await j.cleanup()
    }
  })

  it('says that staging needs room for the old and the new state side by side when the disk fills', async () => {
    const j = await checkpointJob(fileKind, {tasks: ['alpha']})
    const stateRoot = path.join(j.dir, 'state')
    try {
      sh('mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', stateRoot)
      await fs.mkdir(j.state('alpha'))
      await fs.writeFile(path.join(j.state('alpha'), 'big.bin'), Buffer.alloc(640 << 10, 7))
      await j.take()
      const before = await fingerprint(j.state('alpha'))
      const restore = await j.ckpt(['restore', '--prefer', 'remote'])
      assert.equal(restore.code, 1, restore.stderr)
      assert.match(restore.json.error.message, /side by side/)
      assert.ok(restore.json.error.message.includes(stateRoot), restore.json.error.message)
      assert.deepEqual(await fingerprint(j.state('alpha')), before, 'the old state is untouched')
      assert.deepEqual(await leftovers(j.state('alpha')), [])
    } finally {
      spawnSync('umount', [stateRoot])
      await j.cleanup()
    }
  })

  for (const object of ['archive', 'index'] as const) {
    it(`falls back when a FIFO stands where the ${object} belongs, instead of blocking for ever`, async () => {
      const j = await checkpointJob(fileKind, {tasks: ['alpha'], extra: FORMAT_1})
      try {
        await j.take(2)
        const key = keys[object]('testjob', 'chk-2', 'alpha')
        const file = path.join(j.target.url, ...key.split('/'))
        await fs.rm(file)
        sh('mkfifo', file)
        const restore = await runCli(['restore', '--prefer', 'remote', '--json'], {cwd: j.dir, timeoutMs: 30_000})
        assert.equal(restore.signal, null, 'the restore finished on its own')
        assert.equal(restore.code, 0, restore.stderr)
        assert.equal(restore.json.checkpointId, 'chk-1')
        assert.equal(restore.json.fallbacks[0].checkpointId, 'chk-2')
      } finally {
        await j.cleanup()
      }
    })
  }

  const lies: Array<[string, (entries: any[]) => void]> = [
    ['a size far beyond the archive', (e) => (e.find((x) => x.path === 'counter.txt').size = 2 ** 52)],
    ['a negative offset', (e) => (e.find((x) => x.path === 'counter.txt').offset = -512)],
    ['a fractional size', (e) => (e.find((x) => x.path === 'counter.txt').size += 0.5)],
    ['an offset past the end of the archive', (e) => (e.find((x) => x.path === 'counter.txt').offset = 1e12)],
  ]
  for (const [name, lie] of lies) {
    it(`falls back when an index gives ${name}`, async () => {
      const j = await checkpointJob(fileKind, {tasks: ['alpha'], extra: FORMAT_1})
      try {
        await j.take(2)
        await rewriteIndex(j, 'chk-2', 'alpha', lie)
        const restore = await j.ckpt(['restore', '--prefer', 'remote'], {NODE_OPTIONS: '--max-old-space-size=256'})
        assert.equal(restore.code, 0, restore.stderr.slice(0, 2000))
        assert.equal(restore.json.checkpointId, 'chk-1')
        assert.match(restore.json.fallbacks[0].reason, /counter\.txt/)
        const verify = await j.ckpt(['checkpoint', 'verify', 'chk-2'])
        assert.equal(verify.code, 3, verify.stderr)
        assert.ok(
          verify.json.checkpoints[0].problems.some((p: any) => p.file === 'counter.txt'),
          JSON.stringify(verify.json),
        )
      } finally {
        await j.cleanup()
      }
    })
  }

  it('falls back when a link resolves outside the state through another link of it', async () => {
    const j = await checkpointJob(fileKind, {tasks: ['alpha']})
    try {
      await j.take(2)
      await rewriteIndex(j, 'chk-2', 'alpha', (e) => {
        e.push({path: 'a', type: 'symlink', mode: 0o777, size: 0, mtimeMs: 0, target: '.'})
        e.push({path: 'b', type: 'symlink', mode: 0o777, size: 0, mtimeMs: 0, target: 'a/..'})
      })
      for (const args of [['restore'], ['restore', '--plan']]) {
        const restore = await j.ckpt(args)
        assert.equal(restore.code, 0, restore.stderr)
        assert.equal(restore.json.checkpointId, 'chk-1')
        assert.match(restore.json.fallbacks[0].reason, /symlink b/)
      }
      assert.equal(await exists(path.join(j.state('alpha'), 'b')), false)
    } finally {
      await j.cleanup()
    }
  })
})
