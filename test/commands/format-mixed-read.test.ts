// A job whose primary holds checkpoints of both formats (format 1, then format 2 after the job file
// switched): each id is shown, restored (local and remote) and exported by its own format's rules.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {runCli} from '../helpers/cli.js'
import {makeTree, writeJob} from '../helpers/job.js'
import {tempDir} from '../helpers/primaries.js'
import {describeState} from '../helpers/tree-state.js'

describe('a store with format-1 and format-2 checkpoints', () => {
  let dir: string
  let cleanup: () => Promise<void>
  const state = () => path.join(dir, 'state', 'alpha')
  const ckpt = (args: string[]) => runCli([...args, '--json'], {cwd: dir})
  const expected: Record<string, Awaited<ReturnType<typeof describeState>>> = {}
  const job = (format: number) => writeJob(dir, {tasks: [{id: 'alpha'}], primary: 'primary', localRoots: ['local'], extra: {checkpoint: {format}, retain: {local: 2}}})

  before(async () => {
    ;({dir, cleanup} = await tempDir())
    await job(1)
    await makeTree(state(), {bigBytes: 1_500_000})
    for (const [id, format] of [
      ['chk-1', 1],
      ['chk-2', 2],
    ] as const) {
      await job(format)
      await fs.writeFile(path.join(state(), 'top.txt'), `${id}\n`)
      const take = await ckpt(['checkpoint', 'take'])
      assert.equal(take.code, 0, take.stderr)
      assert.equal(take.json.checkpointId, id)
      expected[id] = await describeState(state())
    }
  })
  after(() => cleanup?.())

  it('shows each id with its format', async () => {
    for (const [id, format] of [
      ['chk-1', 1],
      ['chk-2', 2],
    ] as const) {
      const show = await ckpt(['checkpoint', 'show', id])
      assert.equal(show.code, 0, show.stderr)
      assert.deepEqual([show.json.format, show.json.tasks[0].format], [format, format])
    }
  })

  it('restores each id from the primary and from the local copy, byte for byte', async () => {
    for (const id of ['chk-1', 'chk-2', 'chk-1']) {
      for (const prefer of ['remote', 'local']) {
        await fs.rm(state(), {recursive: true, force: true})
        const restore = await ckpt(['restore', id, '--prefer', prefer])
        assert.equal(restore.code, 0, restore.stdout + restore.stderr)
        assert.deepEqual([restore.json.checkpointId, restore.json.tasks[0].source], [id, prefer], `${id} ${prefer}`)
        assert.deepEqual(await describeState(state()), expected[id], `${id} ${prefer}`)
      }
    }
  })

  it('exports each id as a tar that GNU tar extracts to the state', async () => {
    for (const id of ['chk-1', 'chk-2']) {
      const file = path.join(dir, `${id}.tar`)
      const out = await ckpt(['checkpoint', 'export', id, '--task', 'alpha', '-o', file])
      assert.equal(out.code, 0, out.stdout + out.stderr)
      const into = path.join(dir, `x-${id}`)
      await fs.mkdir(into)
      execFileSync('tar', ['-xpf', file, '-C', into, '--numeric-owner'])
      assert.deepEqual((await describeState(into)).entries, expected[id].entries, id)
    }
  })
})
