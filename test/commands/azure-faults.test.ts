// Faults of the Azure primary: the server goes away mid-take and mid-restore, a read-only SAS.
import assert from 'node:assert/strict'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import * as fs from 'node:fs/promises'
import {collectCli, runCli, startCli, whileRunning} from '../helpers/cli.js'
import {fingerprint, listFiles, makeTree, writeJob} from '../helpers/job.js'
import {azureKind, tempDir} from '../helpers/primaries.js'

describe('Azure primary faults during a take', () => {
  before(() => azureKind.setup())
  after(() => azureKind.teardown())

  it('fails the checkpoint when the server stops mid-take, leaves no secondary copy, and the next take succeeds', async () => {
    const {dir, cleanup} = await tempDir()
    const server = azureKind.server()
    try {
      const target = await azureKind.fresh(dir)
      await writeJob(dir, {tasks: [{id: 'alpha'}], primary: target.url})
      await makeTree(path.join(dir, 'state', 'alpha'), {bigBytes: 200 << 20})
      const child = startCli(['checkpoint', 'take', '--json'], {cwd: dir, env: target.env})
      const result = collectCli(child, 180_000)
      const copies = path.join(dir, '.ckpt', 'local', 'test-node', 'testjob', 'alpha')
      await whileRunning(child, 'the take began its secondary copy', async () => (await fs.readdir(copies).catch(() => [])).some((n) => n.includes('.partial-')))
      await server.stop({hard: true})
      const failed = await result
      await server.start()
      assert.ok(failed.code === 1 || failed.code === 5, `exit ${failed.code}: ${failed.stderr}`)
      assert.ok(failed.json?.error?.message, failed.stdout)
      assert.deepEqual(await listFiles(path.join(dir, '.ckpt', 'local')), [], 'no secondary copy of the failed attempt is left')
      const next = await runCli(['checkpoint', 'take', '--json'], {cwd: dir, env: target.env})
      assert.equal(next.code, 0, next.stderr)
      const list = await runCli(['checkpoint', 'list', '--json'], {cwd: dir, env: target.env})
      const completed = list.json.checkpoints.filter((c: any) => c.status === 'completed').map((c: any) => c.checkpointId)
      assert.deepEqual(completed, [next.json.checkpointId])
    } finally {
      if (!server.running) await server.start()
      await cleanup()
    }
  })

  it('fails a restore with exit 5 when the server stops mid-download, and leaves the old state whole', async () => {
    const {dir, cleanup} = await tempDir()
    const server = azureKind.server()
    try {
      const target = await azureKind.fresh(dir)
      await writeJob(dir, {tasks: [{id: 'alpha'}], primary: target.url})
      const state = path.join(dir, 'state', 'alpha')
      await makeTree(state, {bigBytes: 150 << 20})
      const take = await runCli(['checkpoint', 'take', '--no-local', '--json'], {cwd: dir, env: target.env})
      assert.equal(take.code, 0, take.stdout + take.stderr)
      await fs.writeFile(path.join(state, 'top.txt'), 'changed after the checkpoint')
      const old = await fingerprint(state)
      const child = startCli(['restore', '--json'], {cwd: dir, env: target.env})
      const result = collectCli(child, 180_000)
      const staging = async () => (await fs.readdir(path.dirname(state))).find((n) => n.startsWith('.alpha.ckpt-restore-'))
      await whileRunning(child, 'the restore began staging', async () => (await staging()) !== undefined)
      await server.stop({hard: true})
      const failed = await result
      await server.start()
      assert.equal(failed.code, 5, `exit ${failed.code}: ${failed.stderr}`)
      assert.equal(failed.json.error.exit, 5)
      assert.deepEqual(await fingerprint(state), old, 'the old state is untouched')
      assert.equal(await staging(), undefined, 'no staging folder is left')
      // (No restore after the restart: Azurite loses its recent metadata when it is killed.)
    } finally {
      if (!server.running) await server.start()
      await cleanup()
    }
  })

  it('refuses a take through a read-only SAS with exit 5 and writes nothing', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const target = await azureKind.fresh(dir)
      await azureKind.server().createContainer(azureKind.containerOf(target).container)
      const readOnly = await azureKind.sasUrl(target, {permissions: 'rl'})
      await writeJob(dir, {tasks: [{id: 'alpha'}], primary: readOnly})
      await makeTree(path.join(dir, 'state', 'alpha'))
      const take = await runCli(['checkpoint', 'take', '--json'], {cwd: dir})
      assert.equal(take.code, 5, take.stdout + take.stderr)
      assert.match(take.json.error.message, /read-only/)
      assert.deepEqual(await listFiles(path.join(dir, '.ckpt', 'local')), [])
      const list = await runCli(['checkpoint', 'list', '--json'], {cwd: dir})
      assert.deepEqual(list.json.checkpoints, [])
    } finally {
      await cleanup()
    }
  })
})
