// `ckpt run` on format 2: a task is paused only to copy what changed since the last checkpoint.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {mkdirSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {runCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/primaries.js'

describe('ckpt run, format 2', {timeout: 120_000}, () => {
  let dir: string
  let cleanup: () => Promise<void>
  before(async () => ({dir, cleanup} = await tempDir('ckpt-run-v2-')))
  after(() => cleanup())

  it('pauses a task for its changed files only, after a first full copy', async () => {
    const state = path.join(dir, 'state', 'ticker')
    mkdirSync(state, {recursive: true})
    for (let i = 0; i < 40; i++) writeFileSync(path.join(state, `cold-${i}.bin`), randomBytes(256 * 1024))
    writeFileSync(
      path.join(dir, 'ckpt.json'),
      JSON.stringify({
        job: 'ticker',
        primary: './primary',
        localRoots: ['./local'],
        checkpoint: {format: 2},
        tasks: [{id: 'ticker', stateDir: 'state/ticker', command: ['sh', '-c', 'while true; do date +%s%N > "$CKPT_STATE_DIR/hot"; sleep 0.1; done']}],
      }),
    )
    const run = await runCli(['run', '--fresh', '--interval', '1s', '--duration', '6s', '--json'], {cwd: dir, env: {CKPT_NODE: 'n1'}})
    assert.equal(run.code, 0, run.stderr)
    const checkpoints = run.json.checkpoints as Array<{checkpointId: string; changedFiles: number; reusedBytes: number; tasks: Array<{bytes: number; pauseCopiedBytes: number}>}>
    assert.ok(checkpoints.length >= 3, `checkpoints: ${checkpoints.map((c) => c.checkpointId)}`)
    const [first, ...later] = checkpoints
    assert.equal(first.tasks[0].pauseCopiedBytes, first.tasks[0].bytes, 'the first pause copies the whole state')
    for (const c of later) {
      assert.ok(c.tasks[0].pauseCopiedBytes < 64, `${c.checkpointId}: paused to copy ${c.tasks[0].pauseCopiedBytes} bytes, not only the changed file`)
      assert.ok(c.changedFiles <= 2, `${c.checkpointId} read ${c.changedFiles} files`)
      assert.ok(c.reusedBytes >= 40 * 256 * 1024)
    }
  })
})
