// The format-2 writer: what a take reads, stores and links, seen through its JSON and the store.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {after, before, describe, it} from 'node:test'
import {takeCheckpoint, type TakeResult} from '../../../src/core/checkpoint/take.js'
import {keys} from '../../../src/core/format/keys.js'
import {getBuffer} from '../../../src/core/stores/store.js'
import {checkpointJob, type CheckpointJob} from '../../helpers/checkpoints.js'
import {fileKind} from '../../helpers/primaries.js'

const MiB = 1 << 20
/** Past the file system's clock tick, so the files just written are not racy (read again whatever their stamps). */
const settle = () => sleep(50)

describe('format 2 take', () => {
  let j: CheckpointJob
  const file = (task: string, name: string) => path.join(j.state(task), name)
  const take = async (options = {}): Promise<TakeResult> => {
    await settle()
    return takeCheckpoint(j.ctx, options)
  }
  const packKeys = async () => (await j.keys()).filter((k) => k.includes('/packs/'))
  const index = async (id: string, task: string) => JSON.parse((await getBuffer(j.ctx.primary, keys.index(j.ctx.job.name, id as never, task))).toString())

  before(async () => {
    j = await checkpointJob(fileKind, {tasks: ['alpha', 'beta'], extra: {checkpoint: {format: 2}, retain: {primary: 10, local: 3}}})
    await fs.writeFile(file('alpha', 'db'), randomBytes(5 * MiB + 123))
    await fs.writeFile(file('beta', 'db-copy'), await fs.readFile(file('alpha', 'db')))
  })
  after(() => j.cleanup())

  it('stores content once across tasks, then reads only what changed', async () => {
    const first = await take()
    assert.equal(first.format, 2)
    assert.equal(first.digestImplementation, 'native')
    const stateBytes = first.tasks.reduce((sum, t) => sum + t.bytes, 0)
    // The 5 MiB file held by both tasks is uploaded once.
    assert.ok(first.uploadedBytes < stateBytes - 5 * MiB + 64 * 1024, `uploaded ${first.uploadedBytes} of ${stateBytes}`)
    assert.equal(first.reusedBytes, 5 * MiB + 123)

    const second = await take()
    assert.deepEqual(
      second.tasks.map((t) => [t.taskId, t.changedFiles, t.base]),
      [
        ['alpha', 0, first.checkpointId],
        ['beta', 0, first.checkpointId],
      ],
    )
    assert.ok(second.uploadedBytes < 8192, `an unchanged state uploads its indexes only, not ${second.uploadedBytes}`)
    assert.deepEqual(
      new Set((await index(second.checkpointId, 'alpha')).packs.map((p: {id: string}) => p.id)),
      new Set((await index(first.checkpointId, 'alpha')).packs.map((p: {id: string}) => p.id)),
    )
  })

  it('uploads only the chunks of a region rewritten in place', async () => {
    const handle = await fs.open(file('alpha', 'db'), 'r+')
    await handle.write(randomBytes(4096), 0, 4096, 2 * MiB + 10)
    await handle.close()
    const result = await take()
    const alpha = result.tasks.find((t) => t.taskId === 'alpha')!
    assert.equal(alpha.changedFiles, 1)
    assert.ok(alpha.uploadedBytes > MiB && alpha.uploadedBytes < MiB + 16 * 1024, `one 1 MiB chunk and the index, not ${alpha.uploadedBytes}`)
  })

  it('catches a same-size rewrite whose mtime was set back (its ctime moved)', async () => {
    const target = file('beta', 'sub/fixed.txt')
    const reference = path.join(j.dir, 'times-of-fixed')
    // touch -r copies the times to the nanosecond, as `touch -d @OLD` would.
    await fs.writeFile(reference, '')
    execFileSync('touch', ['-r', target, reference])
    const old = await fs.stat(target, {bigint: true})
    await fs.writeFile(target, Buffer.from((await fs.readFile(target, 'utf8')).replace('fixed', 'FIXED')))
    execFileSync('touch', ['-m', '-r', reference, target])
    const now = await fs.stat(target, {bigint: true})
    assert.equal(now.mtimeNs, old.mtimeNs)
    assert.equal(now.size, old.size)
    assert.notEqual(now.ctimeNs, old.ctimeNs)
    const result = await take()
    assert.equal(result.tasks.find((t) => t.taskId === 'beta')!.changedFiles, 1)
    const entry = (await index(result.checkpointId, 'beta')).entries.find((e: {path: string}) => e.path === 'sub/fixed.txt')
    const packs = (await index(result.checkpointId, 'beta')).packs
    const [ordinal, offset, length] = entry.blobs[0]
    const pack = await getBuffer(j.ctx.primary, keys.pack(j.ctx.job.name, packs[ordinal].id))
    assert.match(pack.subarray(offset, offset + length).toString(), /^FIXED beta/)
  })

  it('--reread reads every file and stores nothing new', async () => {
    const before = (await packKeys()).length
    const result = await take({reread: true})
    assert.deepEqual(
      result.tasks.map((t) => [t.changedFiles, t.reread]),
      [
        [3, true],
        [3, true],
      ],
    )
    assert.equal((await packKeys()).length, before)
    assert.equal(
      result.reusedBytes,
      result.tasks.reduce((sum, t) => sum + t.bytes, 0),
    )
  })

  it('links unchanged files of a new local copy to the previous copy, never to the stateDir', async () => {
    const result = await take()
    const copy = await j.ctx.secondary.retrieve('alpha', result.checkpointId)
    assert.equal(copy?.format, 2)
    assert.ok((copy?.linkedFiles ?? 0) >= 2, `linked ${copy?.linkedFiles}`)
    const inCopy = await fs.stat(path.join(copy!.stateDir, 'db'))
    const live = await fs.stat(file('alpha', 'db'))
    assert.ok(inCopy.nlink >= 2, 'the copy shares the unchanged file with an earlier copy')
    assert.notEqual(inCopy.ino, live.ino)
    assert.equal(live.nlink, 1)
    assert.deepEqual(await fs.readFile(path.join(copy!.stateDir, 'db')), await fs.readFile(file('alpha', 'db')))
  })

  it('local list counts a file shared by copies once on disk', async () => {
    const {listLocalCopies} = await import('../../../src/core/local/list.js')
    const listed = await listLocalCopies(j.ctx)
    const [root] = listed.roots
    assert.ok(listed.copies.length >= 6, `copies: ${listed.copies.length}`)
    // Six copies of two 5 MiB files; the reread take copied its files anew, the others linked theirs.
    assert.ok(root.diskBytes < root.bytes * 0.7, `on disk ${root.diskBytes} of ${root.bytes}`)
    const newest = listed.copies.filter((c) => c.taskId === 'alpha').at(-1)!
    assert.ok(newest.copiedBytes! < newest.bytes / 10, `the newest copy wrote ${newest.copiedBytes} of ${newest.bytes}`)
  })

  it('never reuses what a failed take stored (FLINK-25395)', async () => {
    const before = new Set(await packKeys())
    await fs.writeFile(file('alpha', 'new-content'), randomBytes(300_000))
    let failing = true
    await assert.rejects(
      takeCheckpoint(j.ctx, {
        capture: async (task, _id, _hint) => {
          if (task.id === 'beta' && failing) throw new Error('beta cannot be captured')
          return {sourceDir: task.stateDir, release: async () => {}}
        },
      }),
      /beta cannot be captured/,
    )
    failing = false
    const leftover = (await packKeys()).filter((k) => !before.has(k))
    assert.equal(leftover.length, 1, 'the failed take put its pack')
    const result = await take()
    const alpha = result.tasks.find((t) => t.taskId === 'alpha')!
    // Its content is stored again, not referenced: the same bytes make the same pack, which the
    // take writes again (create-if-absent finds it there), and prune spares it while this take's claim is open.
    assert.equal(alpha.changedFiles, 1)
    assert.ok(alpha.uploadedBytes >= 300_000, `uploaded ${alpha.uploadedBytes}`)
    assert.equal(alpha.reusedBytes, alpha.bytes - 300_000)
  })
})

describe('format 2 take and the grace period', () => {
  it('does not commit when it took more than half the grace period in the store time', async () => {
    // Half the grace is 4 s: room for the quick take below on a loaded machine.
    const j = await checkpointJob(fileKind, {tasks: ['slow'], extra: {checkpoint: {format: 2, grace: '8s', timeout: '4s'}}})
    try {
      // A process suspended between its claim and its commit: prune may have removed what it reuses.
      const capture = async (task: {stateDir: string}) => {
        await sleep(4500)
        return {sourceDir: task.stateDir, release: async () => {}}
      }
      await assert.rejects(takeCheckpoint(j.ctx, {capture}), /not committed: it took \d+ s in the primary store's time, more than half the grace period/)
      assert.deepEqual(
        (await j.keys()).filter((k) => k.includes('/manifests/') || k.includes('/data/')),
        [],
      )
      const quick = await takeCheckpoint(j.ctx)
      assert.equal(quick.status, 'completed')
    } finally {
      await j.cleanup()
    }
  })
})

describe('format 2 compaction', () => {
  it('stores again the live content of a pack that is mostly garbage, so no new checkpoint names it', async () => {
    const j = await checkpointJob(fileKind, {tasks: ['db'], extra: {checkpoint: {format: 2}, retain: {primary: 10, local: 3}}})
    try {
      const state = j.state('db')
      for (let i = 0; i < 20; i++) await fs.writeFile(path.join(state, `page-${String(i).padStart(2, '0')}`), randomBytes(MiB))
      await settle()
      const first = await takeCheckpoint(j.ctx)
      const packsOf = async (id: string) => JSON.parse((await getBuffer(j.ctx.primary, keys.index(j.ctx.job.name, id as never, 'db'))).toString()).packs as Array<{id: string; size: number}>
      const [full] = (await packsOf(first.checkpointId)).filter((p) => p.size > 16 * MiB)
      assert.ok(full, 'the first take filled a pack of 16 MiB')
      // Twelve of the sixteen files in that pack are rewritten: a quarter of it stays live.
      for (let i = 0; i < 12; i++) await fs.writeFile(path.join(state, `page-${String(i).padStart(2, '0')}`), randomBytes(MiB))
      await settle()
      const second = await takeCheckpoint(j.ctx)
      assert.equal(second.repackedPacks, 0, 'the base (the first take) uses all of its packs')
      assert.ok((await packsOf(second.checkpointId)).some((p) => p.id === full.id))
      await settle()
      const third = await takeCheckpoint(j.ctx)
      assert.equal(third.repackedPacks, 1)
      assert.ok(!(await packsOf(third.checkpointId)).some((p) => p.id === full.id), 'the new checkpoint no longer names the sparse pack')
      const task = third.tasks[0]
      assert.equal(task.changedFiles, 4, 'the four files still in the sparse pack are read again')
      assert.ok(task.uploadedBytes >= 4 * MiB && task.uploadedBytes < 5 * MiB, `uploaded ${task.uploadedBytes}`)
    } finally {
      await j.cleanup()
    }
  })
})

describe('format 2 take after a pack was lost', () => {
  it('stores the content of a missing pack again instead of naming it (one broken checkpoint does not break every later one)', async () => {
    const j = await checkpointJob(fileKind, {tasks: ['db'], extra: {checkpoint: {format: 2}}})
    try {
      await fs.writeFile(path.join(j.state('db'), 'big'), randomBytes(3 * MiB))
      await settle()
      const first = await takeCheckpoint(j.ctx)
      const index = async (id: string) => JSON.parse((await getBuffer(j.ctx.primary, keys.index(j.ctx.job.name, id as never, 'db'))).toString())
      const [lost] = (await index(first.checkpointId)).packs
      await j.ctx.primary.delete(keys.pack(j.ctx.job.name, lost.id))
      const warnings: string[] = []
      await settle()
      const second = await takeCheckpoint(j.ctx, {onWarning: (m) => warnings.push(m)})
      assert.match(warnings.join('\n'), /names 1 pack\(s\) missing from the primary store/)
      // The same content makes the same pack again: the lost one is written anew, not assumed there.
      const packs = (await index(second.checkpointId)).packs.map((p: {id: string}) => p.id)
      for (const id of packs) assert.ok(await j.ctx.primary.stat(keys.pack(j.ctx.job.name, id)), `pack ${id} is there`)
      assert.ok(second.uploadedBytes > 3 * MiB, `uploaded ${second.uploadedBytes}`)
      // Every file with content in the lost pack is read again (the empty file has none).
      assert.equal(second.tasks[0].changedFiles, second.tasks[0].files - 1)
    } finally {
      await j.cleanup()
    }
  })
})
