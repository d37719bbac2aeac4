// The state folder's own mode, time and owner, and every entry's owner, survive a take and a
// restore from each source (local, mixed, remote); a checkpoint without the record restores as before.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {keys} from '../../../src/core/format/keys.js'
import {sha256} from '../../../src/core/format/manifest.js'
import {takeCheckpoint} from '../../../src/core/checkpoint/take.js'
import {restoreJob} from '../../../src/core/restore/restore.js'
import {getBuffer} from '../../../src/core/stores/store.js'
import {checkpointJob, type CheckpointJob} from '../../helpers/checkpoints.js'
import {fileKind} from '../../helpers/primaries.js'
import {FORMAT_1} from '../../helpers/job.js'

const PAST = new Date('2025-06-01T12:00:00.000Z')

/** mode, mtime and owner of a path, as one comparable record. */
async function meta(p: string) {
  const st = await fs.lstat(p)
  return {mode: st.mode & 0o7777, mtimeMs: Math.floor(st.mtimeMs), uid: st.uid, gid: st.gid}
}

describe('the state folder and owners across take and restore', () => {
  let j: CheckpointJob
  let alpha: string
  const expected: Record<string, Awaited<ReturnType<typeof meta>>> = {}

  before(async () => {
    j = await checkpointJob(fileKind, {tasks: ['alpha'], extra: FORMAT_1})
    alpha = j.state('alpha')
    await fs.writeFile(path.join(alpha, 'counter.txt'), 'alpha counter\n'.repeat(50))
    await fs.symlink('sub/fixed.txt', path.join(alpha, 'link'))
    // Owners that need not exist on this machine: restores give back numeric ids, as tar --numeric-owner does.
    await fs.lchown(path.join(alpha, 'sub', 'fixed.txt'), 1201, 1301)
    await fs.lchown(path.join(alpha, 'link'), 1202, 1302)
    await fs.lchown(path.join(alpha, 'sub'), 1203, 1303)
    await fs.writeFile(path.join(alpha, 'big-ids'), 'ids beyond ustar fields\n')
    await fs.lchown(path.join(alpha, 'big-ids'), 3_000_000, 3_000_001)
    await fs.chmod(path.join(alpha, 'sub'), 0o750)
    await fs.utimes(path.join(alpha, 'sub'), PAST, PAST)
    for (const rel of ['counter.txt', 'sub/fixed.txt', 'big-ids']) await fs.utimes(path.join(alpha, rel), PAST, PAST)
    await fs.lchown(alpha, 1204, 1304)
    await fs.chmod(alpha, 0o700)
    await fs.utimes(alpha, PAST, PAST)
    for (const rel of ['', 'sub', 'sub/fixed.txt', 'link', 'counter.txt', 'big-ids']) expected[rel] = await meta(path.join(alpha, rel))
    await takeCheckpoint(j.ctx)
  })
  after(() => j.cleanup())

  /** Spoils the state folder's mode, time and owners, so a restore must put them back. */
  async function spoil(): Promise<void> {
    for (const rel of ['', 'sub', 'sub/fixed.txt', 'link', 'big-ids']) await fs.lchown(path.join(alpha, rel), 0, 0)
    await fs.chmod(alpha, 0o777)
    await fs.utimes(alpha, new Date(), new Date())
  }

  async function assertRestored(source: string): Promise<void> {
    for (const [rel, want] of Object.entries(expected)) {
      const got = await meta(path.join(alpha, rel))
      if (rel === 'link') assert.deepEqual([got.uid, got.gid], [want.uid, want.gid], `${source}: owner of ${rel}`)
      else assert.deepEqual(got, want, `${source}: ${rel || 'the state folder'}`)
    }
  }

  it('records the state folder and each owner in the task index', async () => {
    const index = JSON.parse((await getBuffer(j.ctx.primary, keys.index('testjob', 'chk-1', 'alpha'))).toString())
    assert.deepEqual(index.root, {mode: 0o700, mtimeMs: PAST.getTime(), uid: 1204, gid: 1304})
    const fixed = index.entries.find((e: {path: string}) => e.path === 'sub/fixed.txt')
    assert.deepEqual([fixed.uid, fixed.gid], [1201, 1301])
    assert.deepEqual(Object.keys(index), ['format', 'taskId', 'root', 'entries'])
  })

  it('writes owners into the tar headers, so tar extracts them too', () => {
    const archive = path.join(j.dir, 'primary', ...keys.archive('testjob', 'chk-1', 'alpha').split('/'))
    const listing = execFileSync('tar', ['--numeric-owner', '-tvf', archive], {encoding: 'utf8'})
    assert.match(listing, /1201\/1301 .* sub\/fixed\.txt/)
    assert.match(listing, /1202\/1302 .* link -> sub\/fixed\.txt/)
    assert.match(listing, /3000000\/3000001 .* big-ids/)
  })

  it('keeps the state folder mode and owners in the secondary copy', async () => {
    const copy = await j.ctx.secondary.retrieve('alpha', 'chk-1')
    assert.ok(copy)
    assert.deepEqual(await meta(copy.stateDir), expected[''])
    assert.deepEqual(await meta(path.join(copy.stateDir, 'sub', 'fixed.txt')), expected['sub/fixed.txt'])
  })

  it('gives them back from the local copy', async () => {
    await spoil()
    const result = await restoreJob(j.ctx)
    assert.equal(result.tasks[0].source, 'local')
    await assertRestored('local')
  })

  it('gives them back from a mixed restore', async () => {
    const copy = await j.ctx.secondary.retrieve('alpha', 'chk-1')
    await fs.writeFile(path.join(copy!.stateDir, 'counter.txt'), 'spoiled\n')
    await spoil()
    const result = await restoreJob(j.ctx)
    assert.equal(result.tasks[0].source, 'mixed')
    await assertRestored('mixed')
  })

  it('gives them back from the primary', async () => {
    await spoil()
    const result = await restoreJob(j.ctx, {preferRemote: true})
    assert.equal(result.tasks[0].source, 'remote')
    await assertRestored('remote')
  })

  it('restores a checkpoint without the record (format 1 as written before) with mode 0755 as before', async () => {
    const indexKey = keys.index('testjob', 'chk-1', 'alpha')
    const index = JSON.parse((await getBuffer(j.ctx.primary, indexKey)).toString())
    delete index.root
    for (const entry of index.entries) {
      delete entry.uid
      delete entry.gid
    }
    const raw = Buffer.from(JSON.stringify(index))
    await j.ctx.primary.put(indexKey, raw)
    const manifestFile = path.join(j.dir, 'primary', ...keys.manifest('testjob', 'chk-1').split('/'))
    const manifest = JSON.parse(await fs.readFile(manifestFile, 'utf8'))
    Object.assign(manifest.tasks[0], {indexSize: raw.length, indexSha256: sha256(raw)})
    await fs.writeFile(manifestFile, JSON.stringify(manifest))
    await fs.chmod(alpha, 0o700)
    await restoreJob(j.ctx, {preferRemote: true})
    assert.equal((await meta(alpha)).mode, 0o755)
    assert.equal((await meta(path.join(alpha, 'sub', 'fixed.txt'))).uid, process.geteuid!())

    // A task that runs as another user gets such a checkpoint as its own.
    j.ctx.job.tasks[0].user = {name: 'someone', uid: 1500, gid: 1600}
    try {
      await restoreJob(j.ctx, {preferRemote: true})
    } finally {
      delete j.ctx.job.tasks[0].user
    }
    assert.deepEqual(await meta(alpha).then((m) => [m.mode, m.uid, m.gid]), [0o755, 1500, 1600])
    assert.deepEqual(await meta(path.join(alpha, 'sub', 'fixed.txt')).then((m) => [m.uid, m.gid]), [1500, 1600])
  })
})

describe('the state folder of a task with a snapshot command', () => {
  it('is recorded from the stateDir, not from the snapshot folder ckpt made for the command', async () => {
    const j = await checkpointJob(fileKind, {tasks: ['alpha'], snapshot: 'cp -R "$CKPT_STATE_DIR/sub" "$CKPT_SNAPSHOT_DIR/"'})
    try {
      const alpha = j.state('alpha')
      await fs.chmod(alpha, 0o750)
      await fs.lchown(alpha, 1205, 1305)
      await takeCheckpoint(j.ctx)
      await fs.chmod(alpha, 0o777)
      await restoreJob(j.ctx, {preferRemote: true})
      assert.deepEqual(await meta(alpha).then((m) => [m.mode, m.uid, m.gid]), [0o750, 1205, 1305])
      assert.ok(await fs.stat(path.join(alpha, 'sub', 'fixed.txt')), 'the snapshot is what was restored')
    } finally {
      await j.cleanup()
    }
  })
})
