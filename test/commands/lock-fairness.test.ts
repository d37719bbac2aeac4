// A prune waiting for its exclusive lock gets its turn behind continuous takes (issue 11 item 32):
// real ckpt processes, four take loops whose shared locks always overlap, one prune.
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {describe, it} from 'node:test'
import {runCli, type CliResult} from '../helpers/cli.js'
import {writeJob} from '../helpers/job.js'
import {tempDir} from '../helpers/primaries.js'

describe('lock fairness', () => {
  it('lets a waiting prune in before new takes, within its lock wait', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      // Each take holds its shared lock for 2 s or more (the snapshot command sleeps inside it).
      const jobFile = await writeJob(dir, {tasks: [{id: 't', snapshot: {command: 'sleep 2; cp -R "$CKPT_STATE_DIR/." "$CKPT_SNAPSHOT_DIR/"'}}]})
      await fs.writeFile(path.join(dir, 'state', 't', 'f.txt'), 'x')
      assert.equal((await runCli(['checkpoint', 'take', '-j', jobFile, '--no-local'])).code, 0)
      let stop = false
      const takes: CliResult[] = []
      const loop = async (delayMs: number) => {
        await sleep(delayMs)
        while (!stop) takes.push(await runCli(['checkpoint', 'take', '-j', jobFile, '--no-local', '--json']))
      }
      const loops = [0, 600, 1200, 1800].map(loop)
      await sleep(3500)
      const started = Date.now()
      const prune = await runCli(['checkpoint', 'prune', '--retain', '1', '--lock-wait', '10s', '-j', jobFile, '--json'])
      const waitedMs = Date.now() - started
      stop = true
      await Promise.all(loops)
      assert.equal(prune.code, 0, `the prune gave up after ${waitedMs} ms: ${prune.stdout}`)
      assert.ok(takes.length >= 4, `takes ran beside it (${takes.length})`)
      for (const take of takes) assert.equal(take.code, 0, `a take waited for the prune rather than fail: ${take.stdout}`)
    } finally {
      await cleanup()
    }
  })
})
