// Invariant 2 with a full local root: a task with a snapshot command still commits its primary
// copy, and the full disk is only a warning (issue 11 item 10). Needs root to mount a tmpfs.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {runCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/primaries.js'
import {writeJob} from '../helpers/job.js'

describe('a full local root', {timeout: 60_000}, () => {
  let dir: string
  let cleanup: () => Promise<void>
  let local: string
  before(async () => {
    ;({dir, cleanup} = await tempDir('ckpt-full-local-'))
    local = path.join(dir, 'local')
    await fs.mkdir(local)
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', local])
    // Fill it: write until the disk says no.
    const handle = await fs.open(path.join(local, 'filler'), 'w')
    try {
      for (;;) await handle.write(Buffer.alloc(64 << 10, 1))
    } catch (error) {
      assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC')
    } finally {
      await handle.close()
    }
  })
  after(async () => {
    execFileSync('umount', ['-l', local])
    await cleanup()
  })

  it('takes a checkpoint of a task with a snapshot command, with a secondary warning', async () => {
    const jobFile = await writeJob(dir, {
      primary: 'primary',
      localRoots: ['local'],
      tasks: [{id: 'db', snapshot: {command: 'cp -R "$CKPT_STATE_DIR/." "$CKPT_SNAPSHOT_DIR/"'}}],
    })
    await fs.writeFile(path.join(dir, 'state', 'db', 'data.bin'), Buffer.alloc(100_000, 7))
    const r = await runCli(['checkpoint', 'take', '-j', jobFile, '--json'])

    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.equal(r.json.status, 'completed')
    assert.equal(r.json.tasks[0].secondary, 'failed')
    assert.match(r.json.tasks[0].warning, /secondary copy not written/)
    assert.match(r.stderr, /Warning: task db: secondary copy not written/)
    const restored = await runCli(['restore', '-j', jobFile, '--prefer', 'remote', '--json'])
    assert.equal(restored.code, 0, restored.stderr)
    assert.deepEqual(await fs.readFile(path.join(dir, 'state', 'db', 'data.bin')), Buffer.alloc(100_000, 7))
  })
})
