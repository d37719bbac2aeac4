// A restore after a crash where 1% of the files differ from the checkpoint (format 2, taken by the
// CLI): the files that still match stay in place (the same inodes, linked into the new state), the
// differing ones come from the local copy, nothing from the primary, and the old state is never
// written to. Without the local copy the differing chunks come from the primary.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {runCli} from '../helpers/cli.js'
import {writeJob} from '../helpers/job.js'
import {tempDir} from '../helpers/primaries.js'
import {describeState} from '../helpers/tree-state.js'

const FILES = 100
const SIZE = 200_000

describe('format 2 restore after a crash that changed 1% of the files', () => {
  let dir: string
  let cleanup: () => Promise<void>
  const state = () => path.join(dir, 'state', 'db')
  const file = (i: number) => path.join(state(), 'pages', `${String(i).padStart(3, '0')}.page`)
  const ckpt = (args: string[]) => runCli([...args, '--json'], {cwd: dir})
  let expected: Awaited<ReturnType<typeof describeState>>

  before(async () => {
    ;({dir, cleanup} = await tempDir())
    await writeJob(dir, {tasks: [{id: 'db'}], primary: path.join(dir, 'primary'), localRoots: [path.join(dir, 'local')], extra: {checkpoint: {format: 2}}})
    await fs.mkdir(path.join(state(), 'pages'), {recursive: true})
    for (let i = 0; i < FILES; i++) await fs.writeFile(file(i), randomBytes(SIZE))
    const take = await ckpt(['checkpoint', 'take'])
    assert.equal(take.code, 0, take.stderr)
    expected = await describeState(state())
  })
  after(() => cleanup?.())

  it('keeps 99% in place and takes the rest from the local copy; the plan expects the same', async () => {
    const inodes = await Promise.all(Array.from({length: FILES}, async (_, i) => (await fs.stat(file(i))).ino))
    // the crash: one file rewritten (same size), watched through a hard link outside the state
    const watch = path.join(dir, 'watch.page')
    await fs.link(file(7), watch)
    await fs.writeFile(file(7), randomBytes(SIZE))
    const crashed = await fs.readFile(watch)

    const plan = await ckpt(['restore', '--plan'])
    assert.equal(plan.code, 0, plan.stderr)
    assert.deepEqual([plan.json.tasks[0].inPlaceBytes, plan.json.tasks[0].localBytes, plan.json.tasks[0].remoteBytes], [(FILES - 1) * SIZE, SIZE, 0])
    assert.match(plan.json.tasks[0].reason, /not hashed/)

    const restore = await ckpt(['restore'])
    assert.equal(restore.code, 0, restore.stdout + restore.stderr)
    const task = restore.json.tasks[0]
    assert.deepEqual([task.source, task.inPlaceBytes, task.localBytes, task.remoteBytes], ['local', (FILES - 1) * SIZE, SIZE, 0])
    assert.deepEqual(await describeState(state()), expected)
    for (let i = 0; i < FILES; i++) if (i !== 7) assert.equal((await fs.stat(file(i))).ino, inodes[i], `page ${i} kept in place`)
    assert.ok((await fs.readFile(watch)).equals(crashed), 'the old file was never written to')
  })

  it('takes only the differing chunk from the primary when the local copy is gone', async () => {
    await fs.rm(path.join(dir, 'local'), {recursive: true})
    const handle = await fs.open(file(3), 'r+')
    await handle.write(Buffer.from('torn write'), 0, 10, 1000)
    await handle.close()
    const restore = await ckpt(['restore'])
    assert.equal(restore.code, 0, restore.stdout + restore.stderr)
    const task = restore.json.tasks[0]
    assert.deepEqual([task.source, task.inPlaceBytes, task.localBytes, task.remoteBytes], ['mixed', (FILES - 1) * SIZE, 0, SIZE])
    assert.deepEqual(await describeState(state()), expected)
  })

  it('gives a sparse file back sparse from the primary', async () => {
    const sparse = path.join(state(), 'sparse.bin')
    const handle = await fs.open(sparse, 'w')
    await handle.write(Buffer.from('head'), 0, 4, 0)
    await handle.write(Buffer.from('tail'), 0, 4, 8 << 20)
    await handle.close()
    assert.equal((await ckpt(['checkpoint', 'take'])).code, 0)
    const wanted = await describeState(state())
    await fs.rm(state(), {recursive: true})
    const restore = await ckpt(['restore', '--prefer', 'remote'])
    assert.equal(restore.code, 0, restore.stdout + restore.stderr)
    assert.deepEqual(await describeState(state()), wanted)
    const st = await fs.stat(sparse)
    assert.ok(st.blocks * 512 < 1 << 20, `${st.blocks * 512} bytes on disk for ${st.size}`)
  })
})
