// The hash workers: right digests, errors as errors, and a process that exits once they are done.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, it} from 'node:test'
import {HashPool} from '../../../src/core/util/hash-pool.js'
import {digestHex, digestReady, nativeModulePath} from '../../../src/core/util/digest.js'
import {tempDir} from '../../helpers/primaries.js'

const poolModule = fileURLToPath(new URL('../../../src/core/util/hash-pool.ts', import.meta.url))

describe('HashPool', () => {
  it("gives the digests of a file's pieces (format 2's blobs), BLAKE3 through the native addon or SHA-256", async () => {
    const {dir, cleanup} = await tempDir()
    try {
      await digestReady('blake3')
      const data = randomBytes((2 << 20) + 5)
      const file = path.join(dir, 'chunked')
      await fs.writeFile(file, data)
      const pieces = [1 << 20, 1 << 20, 5]
      const at = (i: number) => data.subarray(i << 20, Math.min(data.length, (i + 1) << 20))
      const pool = new HashPool(2)
      const b3 = await pool.pieceDigests(file, pieces, nativeModulePath)
      assert.deepEqual(
        b3.digests,
        [0, 1, 2].map((i) => digestHex(at(i), 'blake3')),
      )
      const sha = await pool.pieceDigests(file, pieces)
      assert.deepEqual(
        sha.digests,
        [0, 1, 2].map((i) => digestHex(at(i), 'sha256')),
      )
      // A file shorter than its pieces: the pieces it does not hold whole have no digest.
      const short = await pool.pieceDigests(file, [1 << 20, 2 << 20], nativeModulePath)
      assert.deepEqual(short.digests, [digestHex(at(0), 'blake3'), null])
      assert.equal(short.size, data.length)
    } finally {
      await cleanup()
    }
  })

  it('hashes files on workers, and refuses a missing file or a symlink', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const data = randomBytes(3 << 20)
      await fs.writeFile(path.join(dir, 'big'), data)
      await fs.writeFile(path.join(dir, 'empty'), '')
      await fs.symlink('big', path.join(dir, 'link'))
      const pool = new HashPool(2)
      const [big, empty] = await Promise.all([pool.hashFile(path.join(dir, 'big')), pool.hashFile(path.join(dir, 'empty'))])
      assert.deepEqual(big, {size: data.length, sha256: createHash('sha256').update(data).digest('hex')})
      assert.deepEqual(empty, {size: 0, sha256: createHash('sha256').digest('hex')})
      await assert.rejects(pool.hashFile(path.join(dir, 'missing')), /ENOENT/)
      await assert.rejects(pool.hashFile(path.join(dir, 'link')), /ELOOP/)
    } finally {
      await cleanup()
    }
  })

  it('lets the process exit when the work is done, however the work came', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      await fs.writeFile(path.join(dir, 'f'), 'bytes')
      // One file, a pause (the first worker goes idle and stops), then a burst over two workers;
      // started with --input-type=module, which the workers (plain CommonJS) must not inherit.
      const script = `
        import {hashPool} from ${JSON.stringify(poolModule)}
        const file = ${JSON.stringify(path.join(dir, 'f'))}
        await hashPool.hashFile(file)
        await new Promise((resolve) => setTimeout(resolve, 400))
        await hashPool.hashFile(file)
        await Promise.all(Array.from({length: 20}, () => hashPool.hashFile(file)))
        console.log('done')`
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {stdio: ['ignore', 'pipe', 'inherit']})
      let out = ''
      child.stdout.on('data', (chunk) => (out += chunk))
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
      const code = await new Promise((resolve) => child.on('exit', (c, signal) => resolve(signal ?? c)))
      clearTimeout(timer)
      assert.equal(out.trim(), 'done')
      assert.equal(code, 0, 'the process exits by itself, not killed after 20 s')
    } finally {
      await cleanup()
    }
  })
})
