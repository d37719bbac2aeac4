// The golden format-1 store (test/fixtures/format1-store, made once by the format-1 ckpt with
// scripts/make-format1-fixture.mjs): every later ckpt must list, show, verify and restore it byte
// for byte. The tests work on a copy in a temp folder and never write into test/fixtures.
//
// Machine-dependent fields in the fixture, and why the tests do not care: job.json's `jobFile`
// (/tmp/ckpt-format1-fixture/ckpt.json) and `node`, the manifests' `node` and the claims' `host`
// and `pid` are for people only; the job identity is the hash of the task ids, so a job file in
// another folder with other stateDirs is the same job. Owners are numeric (0:0, one file 4242:4243):
// a restore as root gives them back (asserted); as any other user it leaves every file to that user.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {repoRoot, runCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/primaries.js'

const fixture = path.join(repoRoot, 'test', 'fixtures', 'format1-store')
const job = 'fixture'
const tasks = ['alpha', 'beta'] as const
const ids = ['chk-1', 'chk-2', 'chk-3']
const asRoot = process.getuid?.() === 0

interface Stat {
  mode: number
  mtimeMs: number
  uid: number
  gid: number
}
interface Entry extends Stat {
  path: string
  type: 'file' | 'dir' | 'symlink'
  size?: number
  sha256?: string
  target?: string
}
interface Tree {
  root: Stat
  entries: Entry[]
}
interface Expected {
  checkpoints: Record<string, Record<(typeof tasks)[number], Tree>>
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex')

// Rounded, not floored: utimes goes through a double of seconds, so a restored time may lie a few ns below its ms.
async function stat(abs: string): Promise<Stat> {
  const st = await fs.lstat(abs)
  return {mode: st.mode & 0o7777, mtimeMs: Math.round(st.mtimeMs), uid: st.uid, gid: st.gid}
}

/** A folder as the fixture's expected.json describes one (the same walk as the fixture script). */
async function describeTree(dir: string): Promise<Tree> {
  const entries: Entry[] = []
  const walk = async (abs: string, rel: string) => {
    for (const name of (await fs.readdir(abs)).sort()) {
      const a = path.join(abs, name)
      const r = rel ? `${rel}/${name}` : name
      const st = await fs.lstat(a)
      const common = {path: r, ...(await stat(a))}
      if (st.isDirectory()) {
        entries.push({...common, type: 'dir'})
        await walk(a, r)
      } else if (st.isSymbolicLink()) entries.push({...common, type: 'symlink', target: await fs.readlink(a)})
      else {
        const data = await fs.readFile(a)
        entries.push({...common, type: 'file', size: data.length, sha256: sha256(data)})
      }
    }
  }
  await walk(dir, '')
  return {root: await stat(dir), entries}
}

/** Owners are given back only by a restore run as root; any other user gets every file. */
function owned(tree: Tree): Tree {
  if (asRoot) return tree
  const me = {uid: process.getuid!(), gid: process.getgid!()}
  return {root: {...tree.root, ...me}, entries: tree.entries.map((e) => ({...e, ...me}))}
}

/** A symlink's own mode is not portable (Linux has no lchmod), and ckpt restores its target, not its own time. */
function comparable(tree: Tree): Tree {
  return {...tree, entries: tree.entries.map((e) => (e.type === 'symlink' ? {...e, mode: 0o777, mtimeMs: 0} : e))}
}

const filesOf = (tree: Tree) => tree.entries.filter((e) => e.type === 'file')
const bytesOf = (tree: Tree) => filesOf(tree).reduce((sum, e) => sum + e.size!, 0)

describe('the golden format-1 store', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let expected: Expected
  const ckpt = (args: string[]) => runCli([...args, '--json'], {cwd: dir})

  before(async () => {
    ;({dir, cleanup} = await tempDir())
    expected = JSON.parse(await fs.readFile(path.join(fixture, 'expected.json'), 'utf8'))
    await fs.cp(path.join(fixture, 'primary'), path.join(dir, 'primary'), {recursive: true})
    // Other stateDirs than the fixture's: where a job puts its state is not part of the job.
    const doc = {job, primary: 'primary', tasks: tasks.map((id) => ({id, stateDir: `restored/${id}`}))}
    await fs.writeFile(path.join(dir, 'ckpt.json'), JSON.stringify(doc, null, 2))
    await fs.mkdir(path.join(dir, 'restored'))
  })
  after(() => cleanup?.())

  it('is the store that was committed: every object matches primary.sha256', async () => {
    const lines = (await fs.readFile(path.join(fixture, 'primary.sha256'), 'utf8')).trim().split('\n')
    assert.ok(lines.length >= 3 * (1 + 2 * 2) + 1, 'claims, manifests, archives, indexes and job.json are all listed')
    for (const line of lines) {
      const [digest, key] = line.split('  ')
      assert.equal(sha256(await fs.readFile(path.join(dir, 'primary', key))), digest, key)
    }
  })

  it('lists three completed checkpoints with their tasks and bytes', async () => {
    const list = await ckpt(['checkpoint', 'list'])
    assert.equal(list.code, 0, list.stderr)
    assert.deepEqual(
      list.json.checkpoints.map((c: any) => [c.checkpointId, c.status, c.tasks, c.bytes]),
      ids.map((id) => [id, 'completed', 2, tasks.reduce((sum, t) => sum + bytesOf(expected.checkpoints[id][t]), 0)]),
    )
    for (const c of list.json.checkpoints) assert.ok(!Number.isNaN(Date.parse(c.createdAt)), c.createdAt)
  })

  it('shows each checkpoint, and latest as chk-3', async () => {
    for (const id of [...ids, 'latest']) {
      const show = await ckpt(['checkpoint', 'show', id])
      assert.equal(show.code, 0, show.stderr)
      const real = id === 'latest' ? 'chk-3' : id
      assert.equal(show.json.checkpointId, real)
      assert.equal(show.json.status, 'completed')
      assert.deepEqual(
        show.json.tasks.map((t: any) => [t.taskId, t.files, t.bytes]),
        tasks.map((t) => [t, filesOf(expected.checkpoints[real][t]).length, bytesOf(expected.checkpoints[real][t])]),
      )
    }
  })

  it('verifies every checkpoint, every byte re-read', async () => {
    const verify = await ckpt(['checkpoint', 'verify', '--all', '--read-data'])
    assert.equal(verify.code, 0, verify.stdout + verify.stderr)
    assert.equal(verify.json.ok, true)
    assert.deepEqual(
      verify.json.checkpoints.map((c: any) => [c.checkpointId, c.status, c.ok, c.problems]),
      ids.map((id) => [id, 'completed', true, []]),
    )
    const files = ids.reduce((sum, id) => sum + tasks.reduce((s, t) => s + filesOf(expected.checkpoints[id][t]).length, 0), 0)
    assert.equal(
      verify.json.checkpoints.reduce((sum: number, c: any) => sum + c.filesRead, 0),
      files,
    )
  })

  for (const id of [...ids].reverse()) {
    it(`restores ${id} byte for byte from the primary: contents, modes, times, links, owners, empty files and folders`, async () => {
      const restore = await ckpt(['restore', id])
      assert.equal(restore.code, 0, restore.stdout + restore.stderr)
      assert.equal(restore.json.checkpointId, id)
      assert.deepEqual(
        restore.json.tasks.map((t: any) => [t.taskId, t.checkpointId, t.source]),
        tasks.map((t) => [t, id, 'remote']),
      )
      for (const task of tasks) {
        const actual = await describeTree(path.join(dir, 'restored', task))
        assert.deepEqual(comparable(actual), comparable(owned(expected.checkpoints[id][task])), `${id}/${task}`)
      }
    })
  }

  it('holds tars that GNU tar extracts to the same trees', async () => {
    for (const id of ids) {
      for (const task of tasks) {
        const out = path.join(dir, 'gnu-tar', id, task)
        await fs.mkdir(out, {recursive: true})
        execFileSync('tar', ['-xf', path.join(dir, 'primary', job, 'data', id, `${task}.tar`), '-C', out, '--numeric-owner'])
        const {entries} = await describeTree(out)
        assert.deepEqual(comparable({root: expected.checkpoints[id][task].root, entries}), comparable(owned(expected.checkpoints[id][task])), `${id}/${task}`)
      }
    }
  })

  it('reports a flipped byte in the copy with exit 3 (the checks above read the fixture)', async () => {
    const archive = path.join(dir, 'primary', job, 'data', 'chk-2', 'alpha.tar')
    const bytes = await fs.readFile(archive)
    const index = JSON.parse(await fs.readFile(path.join(dir, 'primary', job, 'data', 'chk-2', 'alpha.index.json'), 'utf8'))
    const page = index.entries.find((e: any) => e.path === 'db/pages/0002.page')
    bytes[page.offset + 10] ^= 0xff
    await fs.writeFile(archive, bytes)
    const verify = await ckpt(['checkpoint', 'verify', 'chk-2', '--read-data'])
    assert.equal(verify.code, 3, verify.stdout + verify.stderr)
    assert.ok(
      verify.json.checkpoints[0].problems.some((p: any) => p.taskId === 'alpha' && p.file === 'db/pages/0002.page'),
      JSON.stringify(verify.json),
    )
  })
})
