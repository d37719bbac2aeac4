import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {WriteQueue} from '../../../src/core/util/write-queue.js'
import {tempDir} from '../../helpers/primaries.js'

describe('write queue', () => {
  it('writes every chunk in order while the caller runs ahead', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const chunks = Array.from({length: 50}, (_, i) => randomBytes(1000 + i * 37))
      const handle = await fs.open(path.join(dir, 'out'), 'w')
      const queue = new WriteQueue(handle, 4)
      for (const chunk of chunks) await queue.push(chunk)
      await queue.drain()
      await handle.close()
      assert.deepEqual(await fs.readFile(path.join(dir, 'out')), Buffer.concat(chunks))
    } finally {
      await cleanup()
    }
  })

  it('reports a failed write on the next push or drain', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      await fs.writeFile(path.join(dir, 'out'), '')
      // A handle opened for reading refuses writes: a real failed write(2).
      const handle = await fs.open(path.join(dir, 'out'), 'r')
      const queue = new WriteQueue(handle, 2)
      await assert.rejects(async () => {
        for (let i = 0; i < 10; i++) await queue.push(Buffer.from('x'))
        await queue.drain()
      }, (error: NodeJS.ErrnoException) => error.code === 'EBADF')
      await handle.close()
    } finally {
      await cleanup()
    }
  })
})
