// A file primary on a read-only mount (a disaster-recovery copy): verify and restore go on without a
// lock, with a warning; a take is refused with exit 5 (issue 11 item 20). Needs root for mount(8).
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {runCli} from '../helpers/cli.js'
import {fingerprint, makeTree, writeJob} from '../helpers/job.js'
import {tempDir} from '../helpers/primaries.js'

/** Mounts `source` read-only at `target` (a bind mount remounted ro); the returned function unmounts it. */
function mountReadOnly(source: string, target: string): () => void {
  execFileSync('mount', ['--bind', source, target])
  try {
    execFileSync('mount', ['-o', 'remount,ro,bind', target])
  } catch (error) {
    execFileSync('umount', [target])
    throw error
  }
  return () => execFileSync('umount', [target])
}

describe('a file primary on a read-only file system', () => {
  it('verifies and restores without a lock, with a warning; a take is refused with exit 5', async () => {
    const {dir, cleanup} = await tempDir()
    let unmount = () => {}
    try {
      const jobFile = await writeJob(dir, {tasks: [{id: 't'}]})
      const stateDir = path.join(dir, 'state', 't')
      await makeTree(stateDir)
      const before = await fingerprint(stateDir)
      const first = await runCli(['checkpoint', 'take', '-j', jobFile, '--no-local'])
      assert.equal(first.code, 0, first.stderr)
      const ro = path.join(dir, 'dr-copy')
      await fs.mkdir(ro)
      unmount = mountReadOnly(path.join(dir, '.ckpt', 'primary'), ro)
      await assert.rejects(fs.writeFile(path.join(ro, 'probe'), 'x'), /EROFS/, 'the mount is read-only')

      const verify = await runCli(['checkpoint', 'verify', '--read-data', '-j', jobFile, '--primary', ro, '--json'])
      assert.equal(verify.code, 0, verify.stdout + verify.stderr)
      assert.equal(verify.json.ok, true)
      assert.match(verify.stderr, /cannot write a lock to the primary store .*read-only.*going on without one/)

      await fs.rm(stateDir, {recursive: true})
      const restore = await runCli(['restore', '-j', jobFile, '--primary', ro, '--json'])
      assert.equal(restore.code, 0, restore.stdout + restore.stderr)
      assert.match(restore.stderr, /going on without one/)
      assert.deepEqual(await fingerprint(stateDir), before)

      const take = await runCli(['checkpoint', 'take', '-j', jobFile, '--primary', ro, '--json'])
      assert.equal(take.code, 5, take.stdout)
      assert.match(take.json.error.message, /EROFS.*read-only file system/)
    } finally {
      unmount()
      await cleanup()
    }
  })
})
