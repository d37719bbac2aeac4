import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdir, mkdtemp, rm} from 'node:fs/promises'
import {describe, it} from 'node:test'
import {NotFoundError} from '../../../src/core/errors.js'
import {tmpdir} from 'node:os'
import * as path from 'node:path'
import {FileStore} from '../../../src/core/stores/file-store.js'
import {storeConformance} from './conformance.js'

storeConformance('file', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ckpt-filestore-'))
  return {store: new FileStore(path.join(dir, 'primary')), cleanup: () => rm(dir, {recursive: true, force: true})}
})

describe('file store: what is not a regular file', () => {
  it('turns away a FIFO where an object belongs instead of waiting for a writer', {timeout: 20_000}, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ckpt-filestore-'))
    try {
      const store = new FileStore(dir)
      await mkdir(path.join(dir, 'job'))
      const made = spawnSync('mkfifo', [path.join(dir, 'job', 'fifo')])
      assert.equal(made.status, 0)
      await assert.rejects(store.get('job/fifo'), NotFoundError)
      await assert.rejects(store.get('job/fifo', {range: {offset: 0, length: 10}}), NotFoundError)
      assert.equal(await store.stat('job/fifo'), undefined)
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})
