// Restore of format-2 checkpoints (made by the hand-made writer in test/helpers/format2.ts) in this
// process, on a real file store and real folders: every source (in place, local copy, primary),
// byte for byte, and the fallback past a checkpoint whose pack is gone or damaged.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {resolveSettings} from '../../../src/core/config/settings.js'
import {openJob, type JobContext} from '../../../src/core/context.js'
import {keys} from '../../../src/core/format/keys.js'
import {restoreJob} from '../../../src/core/restore/restore.js'
import {buildFormat2} from '../../helpers/format2.js'
import {makeTree, writeJob} from '../../helpers/job.js'
import {tempDir} from '../../helpers/primaries.js'
import {describeState} from '../../helpers/tree-state.js'

const CHUNK = 64 << 10
const options = {chunkSize: CHUNK, packSize: 256 << 10, localCopy: true}

describe('restore of format 2', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let ctx: JobContext
  const state = (task: string) => path.join(dir, 'state', task)
  const expected: Record<string, Record<string, Awaited<ReturnType<typeof describeState>>>> = {}
  const snapshot = async (id: string) => {
    expected[id] = {alpha: await describeState(state('alpha')), beta: await describeState(state('beta'))}
  }
  const assertState = async (id: string) => {
    for (const task of ['alpha', 'beta']) assert.deepEqual(await describeState(state(task)), expected[id][task], `${id}/${task}`)
  }
  const copyState = (task: string, id: string) => path.join(dir, 'local', 'test-node', 'testjob', task, id, 'state')

  before(async () => {
    ;({dir, cleanup} = await tempDir())
    const jobFile = await writeJob(dir, {tasks: [{id: 'alpha'}, {id: 'beta'}], primary: path.join(dir, 'primary'), localRoots: [path.join(dir, 'local')]})
    ctx = await openJob(await resolveSettings({jobFile, node: 'test-node'}, process.env))
    for (const task of ['alpha', 'beta']) await makeTree(state(task), {bigBytes: 600_000, seed: task})
    await fs.chmod(path.join(state('alpha'), 'nested'), 0o750)
    await buildFormat2(ctx, 'chk-1', options)
    await snapshot('chk-1')
    for (const task of ['alpha', 'beta']) await fs.writeFile(path.join(state(task), 'top.txt'), `second ${task}\n`)
    await buildFormat2(ctx, 'chk-2', options)
    await snapshot('chk-2')
  })
  after(async () => {
    await ctx?.close()
    await cleanup?.()
  })

  it('restores byte for byte from the primary alone (remote preferred, empty stateDirs)', async () => {
    for (const task of ['alpha', 'beta']) await fs.rm(state(task), {recursive: true})
    const result = await restoreJob(ctx, {checkpointId: 'chk-1', preferRemote: true})
    assert.deepEqual(
      result.tasks.map((t) => [t.checkpointId, t.source, t.inPlaceBytes, t.localBytes]),
      [
        ['chk-1', 'remote', 0, 0],
        ['chk-1', 'remote', 0, 0],
      ],
    )
    for (const t of result.tasks) assert.equal(t.remoteBytes, sizeOf(expected['chk-1'][t.taskId]))
    await assertState('chk-1')
  })

  it('restores from the local copy alone, and mixed when some of its files are gone', async () => {
    for (const task of ['alpha', 'beta']) await fs.rm(state(task), {recursive: true})
    const local = await restoreJob(ctx, {checkpointId: 'chk-2'})
    assert.deepEqual(
      local.tasks.map((t) => [t.source, t.inPlaceBytes, t.remoteBytes]),
      [
        ['local', 0, 0],
        ['local', 0, 0],
      ],
    )
    for (const t of local.tasks) assert.equal(t.localBytes, sizeOf(expected['chk-2'][t.taskId]))
    await assertState('chk-2')

    for (const task of ['alpha', 'beta']) await fs.rm(state(task), {recursive: true})
    await fs.rm(path.join(copyState('alpha', 'chk-2'), 'big.bin'))
    const mixed = await restoreJob(ctx, {checkpointId: 'chk-2'})
    assert.deepEqual(
      mixed.tasks.map((t) => [t.taskId, t.source, t.remoteBytes]),
      [
        ['alpha', 'mixed', 600_000],
        ['beta', 'local', 0],
      ],
    )
    await assertState('chk-2')
    execFileSync('cp', ['-a', path.join(state('alpha'), 'big.bin'), path.join(copyState('alpha', 'chk-2'), 'big.bin')])
  })

  it('keeps the files in place that match, links them untouched, and takes the rest from the local copy', async () => {
    await restoreJob(ctx, {checkpointId: 'chk-2', preferRemote: true})
    const alpha = state('alpha')
    const kept = (await fs.stat(path.join(alpha, 'nested', 'a.bin'))).ino
    // a crash rewrote one chunk of the big file and one small file; a hard link outside watches the old big file
    const watch = path.join(dir, 'watch-big.bin')
    await fs.link(path.join(alpha, 'big.bin'), watch)
    const handle = await fs.open(path.join(alpha, 'big.bin'), 'r+')
    await handle.write(Buffer.alloc(1000, 7), 0, 1000, CHUNK * 2 + 10)
    await handle.close()
    await fs.writeFile(path.join(alpha, 'top.txt'), 'crashed\n')
    const before = await fs.readFile(watch)
    const plan = await restoreJob(ctx, {checkpointId: 'chk-2', plan: true})
    assert.equal(plan.tasks[0].inPlaceBytes, sizeOf(expected['chk-2'].alpha) - 600_000 - 13, 'the plan expects by size and time: the written files are not')
    const result = await restoreJob(ctx, {checkpointId: 'chk-2'})
    const total = sizeOf(expected['chk-2'].alpha)
    assert.deepEqual([result.tasks[0].source, result.tasks[0].remoteBytes, result.tasks[0].localBytes], ['local', 0, CHUNK + 13])
    assert.equal(result.tasks[0].inPlaceBytes, total - CHUNK - 13)
    assert.equal(result.tasks[1].inPlaceBytes, sizeOf(expected['chk-2'].beta))
    await assertState('chk-2')
    assert.equal((await fs.stat(path.join(alpha, 'nested', 'a.bin'))).ino, kept, 'an unchanged file is the same inode')
    assert.deepEqual(await fs.readFile(watch), before, 'the old big file was copied, never patched in place')
    assert.notEqual((await fs.stat(path.join(alpha, 'big.bin'))).ino, (await fs.stat(watch)).ino)
  })

  it('patches a changed chunk from the primary when there is no local copy', async () => {
    const big = path.join(state('beta'), 'big.bin')
    const handle = await fs.open(big, 'r+')
    await handle.write(Buffer.alloc(10, 1), 0, 10, 5)
    await handle.close()
    await fs.rm(path.join(dir, 'local'), {recursive: true})
    const result = await restoreJob(ctx, {checkpointId: 'chk-2'})
    assert.deepEqual([result.tasks[1].source, result.tasks[1].remoteBytes], ['mixed', CHUNK])
    assert.equal(result.tasks[1].inPlaceBytes, sizeOf(expected['chk-2'].beta) - CHUNK)
    await assertState('chk-2')
  })

  it('falls back to the older checkpoint when a pack of the newer one is missing, or has a flipped byte', async () => {
    for (const task of ['alpha', 'beta']) await fs.rm(state(task), {recursive: true})
    const index = JSON.parse(await fs.readFile(path.join(dir, 'primary', keys.index('testjob', 'chk-2' as never, 'beta')), 'utf8'))
    const packFile = (id: string) => path.join(dir, 'primary', keys.pack('testjob', id))
    const last = index.packs.at(-1).id
    const saved = await fs.readFile(packFile(last))
    await fs.rm(packFile(last))
    const missing = await restoreJob(ctx, {})
    assert.equal(missing.checkpointId, 'chk-1')
    assert.deepEqual(
      missing.fallbacks.map((f) => f.checkpointId),
      ['chk-2'],
    )
    assert.match(missing.fallbacks[0].reason, /not found/)
    await assertState('chk-1')

    for (const task of ['alpha', 'beta']) await fs.rm(state(task), {recursive: true})
    saved[3] ^= 0xff
    await fs.writeFile(packFile(last), saved)
    const flipped = await restoreJob(ctx, {})
    assert.equal(flipped.checkpointId, 'chk-1')
    assert.match(flipped.fallbacks[0].reason, /does not match its digest/)
    await assertState('chk-1')
  })
})

function sizeOf(tree: Awaited<ReturnType<typeof describeState>>): number {
  return tree.entries.reduce((sum, e) => sum + (e.size ?? 0), 0)
}
