import assert from 'node:assert/strict'
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdir, mkdtemp, rm} from 'node:fs/promises'
import {describe, it} from 'node:test'
import {NotFoundError} from '../../../src/core/errors.js'
import {tmpdir} from 'node:os'
import * as path from 'node:path'
import {FileStore} from '../../../src/core/stores/file-store.js'
import {openPrimaryStore} from '../../../src/core/stores/registry.js'
import {DEFAULT_CONCURRENCY} from '../../../src/core/stores/store.js'
import {storeConformance} from './conformance.js'

storeConformance('file', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ckpt-filestore-'))
  const store = await openPrimaryStore(path.join(dir, 'primary'), {baseDir: dir})
  return {store, connections: DEFAULT_CONCURRENCY, cleanup: () => rm(dir, {recursive: true, force: true})}
})

describe('file store: a folder on a read-only file system', () => {
  it('says it is not writable, learnt from the folder at open (a read-only bind mount)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ckpt-filestore-'))
    const [source, target] = [path.join(dir, 'source'), path.join(dir, 'ro')]
    await Promise.all([mkdir(source), mkdir(target)])
    execFileSync('mount', ['--bind', source, target])
    try {
      execFileSync('mount', ['-o', 'remount,ro,bind', target])
      const readOnly = await openPrimaryStore(target, {baseDir: dir, create: false})
      assert.equal(readOnly.properties.writable, false)
      assert.equal((await openPrimaryStore(source, {baseDir: dir})).properties.writable, true)
    } finally {
      execFileSync('umount', [target])
      await rm(dir, {recursive: true, force: true})
    }
  })
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

describe('file store: chunk size', () => {
  it('reads in the chunks a caller asks for (restore of small files), 1 MiB otherwise', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ckpt-filestore-'))
    try {
      const store = new FileStore(path.join(dir, 'primary'))
      const body = Buffer.alloc(3 << 20, 7)
      await store.put('a/object', body)
      const sizes = async (options: object) => {
        const seen: number[] = []
        for await (const chunk of await store.get('a/object', {range: {offset: 1, length: body.length - 1}, ...options})) seen.push((chunk as Buffer).length)
        return seen
      }
      assert.equal(Math.max(...(await sizes({chunkSize: 64 << 10}))), 64 << 10)
      assert.equal(Math.max(...(await sizes({}))), 1 << 20)
      assert.equal(Math.max(...(await sizes({chunkSize: 1}))), 4 << 10)
      await store.close()
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})
