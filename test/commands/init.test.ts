// `ckpt init` that fits (issue 15 item 3): the job is named after its file, the store flags go into
// the file, the hint repeats -j; a -j folder means its ckpt.json; without -j the job file is found
// in the working folder or its parents, like git.
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {runCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/primaries.js'

describe('ckpt init', () => {
  it('names the job after the job file, never its folder, and repeats -j in the hint', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const made = await runCli(['init', '-j', 'jobs/orders.json'], {cwd: dir})
      assert.equal(made.code, 0, made.stderr)
      const doc = JSON.parse(await fs.readFile(path.join(dir, 'jobs', 'orders.json'), 'utf8'))
      assert.equal(doc.job, 'orders')
      assert.match(made.stdout, /ckpt checkpoint take -j jobs\/orders\.json/)
      assert.match(made.stdout, /ckpt run -j jobs\/orders\.json/)
      const plain = await runCli(['init', '--json'], {cwd: dir})
      assert.equal(plain.json.job, 'ckpt', 'ckpt.json names the job ckpt, not the folder')
    } finally {
      await cleanup()
    }
  })

  it('writes --primary, --local-root and --block-size into the file, relative to the file', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const made = await runCli(['init', '-j', 'jobs/orders.json', '--primary', 'stores/p', '--local-root', 'disk1', '--local-root', '/var/tmp/ckpt-x', '--block-size', '4MiB'], {cwd: dir})
      assert.equal(made.code, 0, made.stderr)
      const doc = JSON.parse(await fs.readFile(path.join(dir, 'jobs', 'orders.json'), 'utf8'))
      assert.equal(path.resolve(dir, 'jobs', doc.primary), path.join(dir, 'stores', 'p'))
      assert.deepEqual(
        doc.localRoots.map((r: string) => path.resolve(dir, 'jobs', r)),
        [path.join(dir, 'disk1'), '/var/tmp/ckpt-x'],
      )
      assert.equal(doc.transfer.blockSize, '4MiB')
      const azure = await runCli(['init', '-j', 'a.json', '--primary', 'azure://box/prefix'], {cwd: dir})
      assert.equal(azure.code, 0, azure.stderr)
      assert.equal(JSON.parse(await fs.readFile(path.join(dir, 'a.json'), 'utf8')).primary, 'azure://box/prefix')
      const take = await runCli(['checkpoint', 'take', '--json', '-j', 'jobs/orders.json'], {cwd: dir})
      assert.equal(take.code, 0, take.stderr)
      assert.ok((await fs.readdir(path.join(dir, 'stores', 'p'))).length > 0, 'the take wrote to the primary named at init')
      // The environment stands in for the flags, as for every command.
      const fromEnv = await runCli(['init', '-j', 'env.json'], {cwd: dir, env: {CKPT_PRIMARY: 'azure://env-box', CKPT_LOCAL_ROOTS: 'r1:r2'}})
      assert.equal(fromEnv.code, 0, fromEnv.stderr)
      const envDoc = JSON.parse(await fs.readFile(path.join(dir, 'env.json'), 'utf8'))
      assert.deepEqual([envDoc.primary, envDoc.localRoots], ['azure://env-box', ['r1', 'r2']])
    } finally {
      await cleanup()
    }
  })

  it('takes ckpt.json in a folder given as -j, and finds the job file in a parent folder like git', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      await fs.mkdir(path.join(dir, 'svc'))
      const made = await runCli(['init', '-j', 'svc', '--json'], {cwd: dir})
      assert.equal(made.code, 0, made.stderr)
      assert.equal(made.json.jobFile, path.join(dir, 'svc', 'ckpt.json'))
      const deep = path.join(dir, 'svc', 'state', 'worker-0', 'sub')
      await fs.mkdir(deep, {recursive: true})
      const take = await runCli(['checkpoint', 'take', '--json'], {cwd: deep})
      assert.equal(take.code, 0, take.stderr)
      const fromParent = await runCli(['checkpoint', 'list', '--json'], {cwd: deep})
      assert.equal(fromParent.code, 0, fromParent.stderr)
      assert.deepEqual(
        fromParent.json.checkpoints.map((c: {checkpointId: string}) => c.checkpointId),
        [take.json.checkpointId],
      )
      const listed = await runCli(['checkpoint', 'list', '--json', '-j', 'svc'], {cwd: dir})
      assert.equal(listed.code, 0, listed.stderr)
      assert.equal(listed.json.checkpoints.length, 1)
      const none = await runCli(['checkpoint', 'list'], {cwd: dir})
      assert.equal(none.code, 2)
      assert.match(none.stderr, /ckpt\.json not found/)
    } finally {
      await cleanup()
    }
  })
})
