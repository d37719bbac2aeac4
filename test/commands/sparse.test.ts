// Sparse files keep their holes in the secondary copy and in a restore from either tier.
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {runCli} from '../helpers/cli.js'
import {writeJob} from '../helpers/job.js'
import {tempDir} from '../helpers/primaries.js'

const GiB = 1 << 30
const MiB = 1 << 20

async function digest(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file, {highWaterMark: 4 * MiB})) hash.update(chunk)
  return hash.digest('hex')
}

/** Bytes the file takes on disk. */
async function onDisk(file: string): Promise<number> {
  return (await fs.stat(file)).blocks * 512
}

describe('sparse files', () => {
  it('keep their holes in the secondary copy and in local and remote restores, byte for byte', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      await writeJob(dir, {tasks: [{id: 'alpha'}], primary: 'primary'})
      const state = path.join(dir, 'state', 'alpha')
      const file = path.join(state, 'sparse.bin')
      const handle = await fs.open(file, 'w')
      await handle.truncate(GiB)
      // Data blocks at the start, in the middle (not block-aligned) and at the very end.
      await handle.write(Buffer.alloc(8192, 0xa1), 0, 8192, 0)
      await handle.write(Buffer.from('middle of nowhere'.repeat(500)), 0, 8500, 300 * MiB + 1234)
      await handle.write(Buffer.alloc(4096, 0x7f), 0, 4096, GiB - 4096)
      await handle.close()
      await fs.writeFile(path.join(state, 'dense.txt'), 'x'.repeat(300_000))
      const want = await digest(file)
      assert.ok((await onDisk(file)) < MiB, 'the source is sparse')
      const ckpt = (args: string[]) => runCli([...args, '--json'], {cwd: dir, timeoutMs: 300_000})

      const take = await ckpt(['checkpoint', 'take'])
      assert.equal(take.code, 0, take.stderr)
      const copy = path.join(dir, '.ckpt', 'local', 'test-node', 'testjob', 'alpha', 'chk-1', 'state', 'sparse.bin')
      assert.ok((await onDisk(copy)) < 4 * MiB, `the secondary copy takes ${await onDisk(copy)} bytes on disk`)
      assert.equal((await fs.stat(copy)).size, GiB)
      assert.equal(await digest(copy), want)

      for (const prefer of ['local', 'remote']) {
        await fs.rm(state, {recursive: true})
        const restore = await ckpt(['restore', '--prefer', prefer])
        assert.equal(restore.code, 0, restore.stderr)
        assert.equal(restore.json.tasks[0].source, prefer)
        assert.ok((await onDisk(file)) < 4 * MiB, `restore --prefer ${prefer}: ${await onDisk(file)} bytes on disk`)
        assert.equal((await fs.stat(file)).size, GiB)
        assert.equal(await digest(file), want, `restore --prefer ${prefer}`)
        assert.equal(await fs.readFile(path.join(state, 'dense.txt'), 'utf8'), 'x'.repeat(300_000))
      }
    } finally {
      await cleanup()
    }
  })
})
