// A primary store that fails during a multi-block upload: the take reports the store's own error
// with exit 5, not "The operation was aborted"; the file store names the key and the cause.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {runCli} from '../helpers/cli.js'
import {FaultProxy} from '../helpers/fault-proxy.js'
import {writeJob} from '../helpers/job.js'
import {azureKind, tempDir} from '../helpers/primaries.js'

async function bigState(dir: string, bytes: number): Promise<void> {
  await fs.mkdir(path.join(dir, 'state', 'alpha'), {recursive: true})
  await fs.writeFile(path.join(dir, 'state', 'alpha', 'big.bin'), randomBytes(bytes))
}

describe('a full file primary during a take', () => {
  it('fails with exit 5 naming the key and ENOSPC, and leaves no temporary file', async () => {
    const {dir, cleanup} = await tempDir()
    const primary = path.join(dir, 'primary')
    await fs.mkdir(primary)
    // A real full file system: a 1 MiB tmpfs (the tests run as root).
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', primary])
    try {
      await writeJob(dir, {tasks: [{id: 'alpha'}], primary})
      await bigState(dir, 3 << 20)
      const take = await runCli(['checkpoint', 'take', '--json'], {cwd: dir})
      assert.equal(take.code, 5, `exit ${take.code}: ${take.stdout}${take.stderr}`)
      assert.match(take.json.error.message, /testjob\/data\/chk-1\/alpha\.tar/)
      assert.match(take.json.error.message, /ENOSPC/)
      assert.doesNotMatch(take.json.error.message, /operation was aborted/i)
      const left = execFileSync('find', [primary, '-name', '.ckpt-tmp-*']).toString().trim()
      assert.equal(left, '', 'no temporary file is left')
    } finally {
      execFileSync('umount', [primary])
      await cleanup()
    }
  })
})

describe('an Azure primary that fails during a multi-block upload', () => {
  before(() => azureKind.setup())
  after(() => azureKind.teardown())

  it("fails with exit 5 and the store's error", async () => {
    const {dir, cleanup} = await tempDir()
    const proxy = await FaultProxy.start(azureKind.server().port)
    try {
      const target = await azureKind.fresh(dir)
      await writeJob(dir, {tasks: [{id: 'alpha'}], primary: target.url})
      await bigState(dir, 48 << 20)
      // The second block of the archive fails on every try, while the archive is still being read.
      proxy.add({method: 'PUT', url: /alpha\.tar\?.*comp=block&/, skip: 1, times: Infinity, fault: {status: 500, retryAfter: '0', code: 'InternalError'}})
      const env = {AZURE_STORAGE_CONNECTION_STRING: proxy.via(target.env.AZURE_STORAGE_CONNECTION_STRING)}
      const take = await runCli(['checkpoint', 'take', '--json'], {cwd: dir, env})
      assert.equal(take.code, 5, `exit ${take.code}: ${take.stdout}${take.stderr}`)
      assert.match(take.json.error.message, /cannot write testjob\/data\/chk-1\/alpha\.tar: 500 InternalError/)
    } finally {
      await proxy.close()
      await cleanup()
    }
  })
})
