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

/** The object a failing take names, by the format it writes: format 1's archive, format 2's first pack. */
const failingKey = {1: /testjob\/data\/chk-1\/alpha\.tar/, 2: /testjob\/packs\/[0-9a-f]{2}\/[0-9a-f]{64}/}
const blockOf = {1: /alpha\.tar\?.*comp=block&/, 2: /\/packs\/[0-9a-f]{2}\/[0-9a-f]{64}\?.*comp=block&/}

for (const format of [1, 2] as const)
  describe(`a full file primary during a take (format ${format})`, () => {
    it('fails with exit 5 naming the key and ENOSPC, and leaves no temporary file', async () => {
      const {dir, cleanup} = await tempDir()
      const primary = path.join(dir, 'primary')
      await fs.mkdir(primary)
      // A real full file system: a 1 MiB tmpfs (the tests run as root).
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', primary])
      try {
        await writeJob(dir, {tasks: [{id: 'alpha'}], primary, extra: {checkpoint: {format}}})
        await bigState(dir, 3 << 20)
        const take = await runCli(['checkpoint', 'take', '--json'], {cwd: dir})
        assert.equal(take.code, 5, `exit ${take.code}: ${take.stdout}${take.stderr}`)
        assert.match(take.json.error.message, failingKey[format])
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

for (const format of [1, 2] as const)
  describe(`an Azure primary that fails during a multi-block upload (format ${format})`, () => {
    before(() => azureKind.setup())
    after(() => azureKind.teardown())

    it("fails with exit 5 and the store's error", async () => {
      const {dir, cleanup} = await tempDir()
      const proxy = await FaultProxy.start(azureKind.server().port)
      try {
        const target = await azureKind.fresh(dir)
        await writeJob(dir, {tasks: [{id: 'alpha'}], primary: target.url, extra: {checkpoint: {format}}})
        await bigState(dir, 48 << 20)
        // The second block of the archive (of a pack) fails on every try, while the state is still being read.
        proxy.add({method: 'PUT', url: blockOf[format], skip: 1, times: Infinity, fault: {status: 500, retryAfter: '0', code: 'InternalError'}})
        const env = {AZURE_STORAGE_CONNECTION_STRING: proxy.via(target.env.AZURE_STORAGE_CONNECTION_STRING)}
        const take = await runCli(['checkpoint', 'take', '--json'], {cwd: dir, env})
        assert.equal(take.code, 5, `exit ${take.code}: ${take.stdout}${take.stderr}`)
        assert.match(take.json.error.message, new RegExp(`cannot (write|create) ${failingKey[format].source}: 500 InternalError`))
      } finally {
        await proxy.close()
        await cleanup()
      }
    })
  })
