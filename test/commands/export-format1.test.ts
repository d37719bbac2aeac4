// `checkpoint export` of the golden format-1 store: the task's tar comes out byte for byte as the
// primary holds it, checked against its SHA-256; a flipped byte makes the export fail (exit 1) and
// leave no file. Works on a copy of test/fixtures/format1-store in a temp folder.
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {repoRoot, runCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/primaries.js'

const fixture = path.join(repoRoot, 'test', 'fixtures', 'format1-store')

describe('checkpoint export of the golden format-1 store', () => {
  let dir: string
  let cleanup: () => Promise<void>
  const ckpt = (args: string[]) => runCli([...args, '--json'], {cwd: dir})
  const tarOf = (id: string, task: string) => path.join(dir, 'primary', 'fixture', 'data', id, `${task}.tar`)

  before(async () => {
    ;({dir, cleanup} = await tempDir())
    await fs.cp(path.join(fixture, 'primary'), path.join(dir, 'primary'), {recursive: true})
    const doc = {job: 'fixture', primary: 'primary', tasks: ['alpha', 'beta'].map((id) => ({id, stateDir: `restored/${id}`}))}
    await fs.writeFile(path.join(dir, 'ckpt.json'), JSON.stringify(doc, null, 2))
  })
  after(() => cleanup?.())

  it("writes each task's tar as the primary holds it", async () => {
    for (const id of ['chk-1', 'chk-2', 'chk-3']) {
      for (const task of ['alpha', 'beta']) {
        const file = path.join(dir, `${id}-${task}.tar`)
        const out = await ckpt(['checkpoint', 'export', id, '--task', task, '-o', file])
        assert.equal(out.code, 0, out.stdout + out.stderr)
        assert.deepEqual([out.json.format, out.json.checkpointId, out.json.taskId], [1, id, task])
        assert.ok((await fs.readFile(file)).equals(await fs.readFile(tarOf(id, task))), `${id}/${task}`)
      }
    }
  })

  it('fails with exit 1 and leaves no file when the tar does not match its digest', async () => {
    const bytes = await fs.readFile(tarOf('chk-2', 'beta'))
    bytes[bytes.length - 2000] ^= 0xff
    await fs.writeFile(tarOf('chk-2', 'beta'), bytes)
    const file = path.join(dir, 'bad.tar')
    const out = await ckpt(['checkpoint', 'export', 'chk-2', '--task', 'beta', '-o', file])
    assert.equal(out.code, 1, out.stdout + out.stderr)
    assert.match(out.json.error.message, /does not match its size and SHA-256/)
    assert.deepEqual(
      (await fs.readdir(dir)).filter((n) => n.startsWith('bad.tar')),
      [],
    )
  })
})
