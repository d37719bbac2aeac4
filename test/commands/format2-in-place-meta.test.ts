// A file kept in place by a format-2 restore is the old state's inode, linked into the new state:
// nothing is set on it, so even its modification time keeps its nanoseconds.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {it} from 'node:test'
import {runCli} from '../helpers/cli.js'
import {writeJob} from '../helpers/job.js'
import {tempDir} from '../helpers/primaries.js'

it('a restore in place sets nothing on a file it keeps', async () => {
  const {dir, cleanup} = await tempDir()
  try {
    await writeJob(dir, {tasks: [{id: 'alpha'}], localRoots: ['local']})
    const kept = path.join(dir, 'state', 'alpha', 'kept.bin')
    await fs.writeFile(kept, Buffer.alloc(300_000, 7))
    // A time with nanoseconds that a microsecond utimes cannot give back.
    execFileSync('touch', ['-m', '-d', '2026-01-02 03:04:05.123456789', kept])
    await fs.writeFile(path.join(dir, 'state', 'alpha', 'other.txt'), 'before')
    await sleep(50)
    assert.equal((await runCli(['checkpoint', 'take', '--json'], {cwd: dir})).code, 0)
    await fs.writeFile(path.join(dir, 'state', 'alpha', 'other.txt'), 'after the checkpoint')
    const before = await fs.stat(kept, {bigint: true})
    const restore = await runCli(['restore', '--json'], {cwd: dir})
    assert.equal(restore.code, 0, restore.stderr)
    assert.ok(restore.json.tasks[0].inPlaceBytes >= 300_000, JSON.stringify(restore.json.tasks[0]))
    const after = await fs.stat(kept, {bigint: true})
    assert.equal(after.ino, before.ino, 'the same inode')
    assert.equal(after.mtimeNs, before.mtimeNs, 'its modification time, to the nanosecond')
    assert.equal(after.mtimeNs % 1_000_000_000n, 123_456_789n)
    assert.equal(await fs.readFile(path.join(dir, 'state', 'alpha', 'other.txt'), 'utf8'), 'before')
  } finally {
    await cleanup()
  }
})
