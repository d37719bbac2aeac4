// A store holding both formats, through the built CLI: the golden format-1 fixture with format-2
// takes on top lists, verifies and prunes down (retention counts both kinds), a kept format-1
// checkpoint still restores byte for byte, and at the end only the packs the kept one names remain.
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {openJob, type JobContext} from '../../../src/core/context.js'
import {resolveSettings} from '../../../src/core/config/settings.js'
import {keys} from '../../../src/core/format/keys.js'
import {repoRoot, runCli} from '../../helpers/cli.js'
import {tempDir} from '../../helpers/primaries.js'
import {packsNamedBy, rebuildFiles, stateFiles, storedPacks} from '../../helpers/hand-format2.js'

const fixture = path.join(repoRoot, 'test', 'fixtures', 'format1-store')
const job = 'fixture'
const tasks = ['alpha', 'beta']

describe('a store of both formats', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let ctx: JobContext
  const ckpt = (args: string[]) => runCli([...args, '--json'], {cwd: dir})
  const states = () => Object.fromEntries(tasks.map((t) => [t, path.join(dir, 'state', t)]))

  before(async () => {
    ;({dir, cleanup} = await tempDir())
    await fs.cp(path.join(fixture, 'primary'), path.join(dir, 'primary'), {recursive: true})
    const doc = {job, primary: 'primary', checkpoint: {format: 2}, tasks: tasks.map((id) => ({id, stateDir: `state/${id}`}))}
    await fs.writeFile(path.join(dir, 'ckpt.json'), JSON.stringify(doc, null, 2))
    for (const t of tasks) {
      await fs.mkdir(path.join(dir, 'state', t), {recursive: true})
      await fs.writeFile(path.join(dir, 'state', t, 'big.bin'), Buffer.alloc(3 << 20, t))
    }
    ctx = await openJob(await resolveSettings({jobFile: path.join(dir, 'ckpt.json'), node: 'test-node'}, {}))
  })
  after(async () => {
    await ctx?.close()
    await cleanup?.()
  })

  async function take(r: number): Promise<Record<string, Record<string, string>>> {
    for (const t of tasks) await fs.writeFile(path.join(dir, 'state', t, 'counter.txt'), `${t} ${r}\n`)
    const files = await stateFiles(states())
    const result = await ckpt(['checkpoint', 'take'])
    assert.equal(result.code, 0, result.stderr)
    return files
  }

  it('lists, verifies and prunes format 1 and format 2 together', async () => {
    const four = await take(4)
    const five = await take(5)
    const list = await ckpt(['checkpoint', 'list'])
    assert.deepEqual(
      list.json.checkpoints.map((c: any) => [c.checkpointId, c.status, c.format]),
      [
        ['chk-1', 'completed', 1],
        ['chk-2', 'completed', 1],
        ['chk-3', 'completed', 1],
        ['chk-4', 'completed', 2],
        ['chk-5', 'completed', 2],
      ],
    )
    const fixtureRow = list.json.checkpoints[2]
    assert.equal(fixtureRow.addedBytes, fixtureRow.bytes, 'format 1 adds its whole size')
    assert.equal((await ckpt(['checkpoint', 'verify', '--all', '--read-data'])).code, 0)

    const first = await ckpt(['checkpoint', 'prune', '--retain', '3', '--grace', '0'])
    assert.equal(first.code, 0, first.stderr)
    assert.deepEqual(first.json.removed, ['chk-1', 'chk-2'])
    assert.deepEqual(first.json.kept, ['chk-3', 'chk-4', 'chk-5'])
    assert.equal(first.json.objects.packsDeleted, 0, 'format 1 checkpoints free no pack')
    assert.equal((await ckpt(['checkpoint', 'verify', '--all', '--read-data'])).code, 0)
    const expected = JSON.parse(await fs.readFile(path.join(fixture, 'expected.json'), 'utf8'))
    const restored = await ckpt(['restore', 'chk-3', '--prefer', 'remote'])
    assert.equal(restored.code, 0, restored.stderr)
    for (const t of tasks) {
      for (const e of expected.checkpoints['chk-3'][t].entries.filter((x: any) => x.type === 'file')) {
        const bytes = await fs.readFile(path.join(dir, 'state', t, e.path))
        assert.equal(createHash('sha256').update(bytes).digest('hex'), e.sha256, `chk-3 ${t}/${e.path}`)
      }
    }
    for (const [id, files] of [
      ['chk-4', four],
      ['chk-5', five],
    ] as const)
      assert.deepEqual(await rebuildFiles(ctx.primary, job, id), files)

    for (const t of tasks) await fs.rm(path.join(dir, 'state', t), {recursive: true, force: true})
    for (const t of tasks) await fs.mkdir(path.join(dir, 'state', t), {recursive: true})
    const six = await take(6)
    const last = await ckpt(['checkpoint', 'prune', '--retain', '1', '--grace', '0'])
    assert.equal(last.code, 0, last.stderr)
    assert.deepEqual(last.json.kept, ['chk-6'])
    assert.equal(await ctx.primary.stat(keys.archive(job, 'chk-3', 'alpha')), undefined, "the format-1 checkpoint's data went")
    const live = await packsNamedBy(ctx.primary, job, ['chk-6'])
    assert.deepEqual([...(await storedPacks(ctx.primary, job))].sort(), [...live].sort())
    assert.ok(last.json.objects.packsDeleted >= 1)
    assert.deepEqual(await rebuildFiles(ctx.primary, job, 'chk-6'), six)
  })
})
