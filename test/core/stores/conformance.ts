// One conformance suite for every primary store (restic internal/backend/test/suite.go), each
// behind the retry decorator as the registry builds it. Each store's own test file only says how to make one.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {Readable} from 'node:stream'
import {after, before, describe, it} from 'node:test'
import {AlreadyExistsError, NotFoundError} from '../../../src/core/errors.js'
import {RetryingStore} from '../../../src/core/stores/retry.js'
import {getBuffer, sendOnce, type PrimaryStore} from '../../../src/core/stores/store.js'

export interface StoreFixture {
  store: PrimaryStore
  /** Removes everything the fixture made. */
  cleanup(): Promise<void>
  /** Number of keys one list page holds, when the store pages; used to cross a page boundary. */
  pageSize?: number
  /** Requests in parallel the store was opened with. */
  connections: number
}

async function collect(iterable: AsyncIterable<{key: string}>): Promise<string[]> {
  const keys: string[] = []
  for await (const info of iterable) keys.push(info.key)
  return keys.sort()
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

export function storeConformance(name: string, make: () => Promise<StoreFixture>): void {
  describe(`primary store conformance: ${name}`, () => {
    let fixture: StoreFixture
    let store: PrimaryStore
    before(async () => {
      fixture = await make()
      store = fixture.store
    })
    after(async () => {
      await store?.close()
      await fixture?.cleanup()
    })

    it('is wrapped in the retry decorator and declares its properties', () => {
      assert.ok(store instanceof RetryingStore, 'the registry wraps every store')
      assert.deepEqual(store.properties, {connections: fixture.connections, atomicCreate: true, writable: true})
    })

    it('puts and gets a buffer, a stream factory and a one-shot stream', async () => {
      const body = randomBytes(1000)
      await store.put('a/buffer', body)
      assert.deepEqual(await getBuffer(store, 'a/buffer'), body)
      await store.put('a/once', sendOnce(Readable.from([body])))
      assert.deepEqual(await getBuffer(store, 'a/once'), body)
      await store.put('a/stream', () => Readable.from([body.subarray(0, 10), body.subarray(10)]))
      assert.deepEqual(await getBuffer(store, 'a/stream'), body)
      const info = await store.stat('a/stream')
      assert.equal(info?.size, 1000)
      assert.ok(info?.lastModified instanceof Date)
    })

    it('overwrites an object with a plain put', async () => {
      await store.put('over/x', Buffer.from('one'))
      await store.put('over/x', Buffer.from('two!'))
      assert.equal((await getBuffer(store, 'over/x')).toString(), 'two!')
    })

    it('stores an empty object', async () => {
      await store.put('empty/obj', Buffer.alloc(0))
      assert.equal((await getBuffer(store, 'empty/obj')).length, 0)
      assert.equal((await store.stat('empty/obj'))?.size, 0)
    })

    it('reads ranges', async () => {
      const body = randomBytes(100_000)
      await store.put('range/obj', body)
      assert.deepEqual(await readAll(await store.get('range/obj', {range: {offset: 0, length: 10}})), body.subarray(0, 10))
      assert.deepEqual(await readAll(await store.get('range/obj', {range: {offset: 54_321, length: 777}})), body.subarray(54_321, 55_098))
      assert.deepEqual(await readAll(await store.get('range/obj', {range: {offset: 99_990}})), body.subarray(99_990))
      assert.equal((await readAll(await store.get('range/obj', {range: {offset: 5, length: 0}}))).length, 0)
      // A range that runs past the end stops there; one that starts past it is empty.
      assert.deepEqual(await readAll(await store.get('range/obj', {range: {offset: 99_990, length: 100}})), body.subarray(99_990))
      assert.equal((await readAll(await store.get('range/obj', {range: {offset: 200_000, length: 10}}))).length, 0)
    })

    it('says not found for a missing object', async () => {
      await assert.rejects(store.get('missing/nothing'), NotFoundError)
      assert.equal(await store.stat('missing/nothing'), undefined)
      await store.delete('missing/nothing')
    })

    it('deletes', async () => {
      await store.put('del/x', Buffer.from('x'))
      await store.delete('del/x')
      assert.equal(await store.stat('del/x'), undefined)
      assert.deepEqual(await collect(store.list('del/')), [])
    })

    it('lists by prefix, across pages', async () => {
      const count = Math.max(25, (fixture.pageSize ?? 0) + 5)
      const keys = Array.from({length: count}, (_, i) => `list/p/${String(i).padStart(4, '0')}`)
      for (let i = 0; i < keys.length; i += 16) await Promise.all(keys.slice(i, i + 16).map((key) => store.put(key, Buffer.from(key))))
      await store.put('list/q/other', Buffer.from('q'))
      await store.put('list/pp', Buffer.from('pp'))
      assert.deepEqual(await collect(store.list('list/p/')), keys)
      assert.deepEqual(await collect(store.list('list/p')), [...keys, 'list/pp'].sort())
      assert.deepEqual(await collect(store.list('list/nothing/')), [])
      const sizes = new Map<string, number>()
      for await (const info of store.list('list/q/')) sizes.set(info.key, info.size)
      assert.deepEqual([...sizes], [['list/q/other', 1]])
    })

    it('creates if absent, once, under concurrency', async () => {
      const key = 'claims/chk-1'
      const results = await Promise.allSettled(Array.from({length: 8}, (_, i) => store.createIfAbsent(key, Buffer.from(`writer-${i}`))))
      const won = results.filter((r) => r.status === 'fulfilled')
      assert.equal(won.length, 1, 'exactly one writer creates the key')
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof AlreadyExistsError, String(r.reason))
      assert.match((await getBuffer(store, key)).toString(), /^writer-\d$/)
      await assert.rejects(store.createIfAbsent(key, Buffer.from('late')), AlreadyExistsError)
    })

    it('keeps keys with spaces and non-ASCII characters', async () => {
      const key = 'names/a folder/straße €uro ✓.bin'
      await store.put(key, Buffer.from('unicode'))
      assert.equal((await getBuffer(store, key)).toString(), 'unicode')
      assert.deepEqual(await collect(store.list('names/')), [key])
    })

    it('streams an object of several blocks', async () => {
      const size = 20 * 1024 * 1024 + 12_345
      const body = randomBytes(size)
      const parts: Buffer[] = []
      for (let i = 0; i < size; i += 1 << 20) parts.push(body.subarray(i, i + (1 << 20)))
      let progress = 0
      await store.put('big/obj', () => Readable.from(parts), {onProgress: (bytes) => (progress = bytes)})
      assert.equal(progress, size)
      assert.equal((await store.stat('big/obj'))?.size, size)
      const back = await getBuffer(store, 'big/obj')
      assert.ok(back.equals(body), 'bytes read back equal bytes written')
      assert.deepEqual(await readAll(await store.get('big/obj', {range: {offset: (8 << 20) - 3, length: 10}})), body.subarray((8 << 20) - 3, (8 << 20) + 7))
      assert.ok((await readAll(await store.get('big/obj'))).equals(body), 'read whole')
      // The whole object, a range of several blocks, and a range past the end.
      assert.deepEqual(await readAll(await store.get('big/obj', {range: {offset: 5, length: (16 << 20) + 1}})), body.subarray(5, (16 << 20) + 6))
      assert.deepEqual(await readAll(await store.get('big/obj', {range: {offset: body.length - 4, length: 100}})), body.subarray(body.length - 4))
      assert.equal((await readAll(await store.get('big/obj', {range: {offset: body.length + 1}}))).length, 0)
    })

    it('leaves the old object, and no new one, when a streamed put is interrupted', async () => {
      await store.put('cut/old', Buffer.from('old'))
      const broken = () =>
        Readable.from(
          (async function* () {
            yield randomBytes(300_000)
            throw new Error('the source broke')
          })(),
        )
      await assert.rejects(store.put('cut/old', broken))
      await assert.rejects(store.createIfAbsent('cut/new', broken))
      assert.equal((await getBuffer(store, 'cut/old')).toString(), 'old')
      assert.equal(await store.stat('cut/new'), undefined)
      assert.deepEqual(await collect(store.list('cut/')), ['cut/old'])
      await store.createIfAbsent('cut/new', Buffer.from('new'))
      assert.equal((await getBuffer(store, 'cut/new')).toString(), 'new')
    })

    it('knows no object under a folder-like prefix, and no range of a missing object', async () => {
      await store.put('tree/leaf', Buffer.from('x'))
      assert.equal(await store.stat('tree'), undefined)
      await assert.rejects(store.get('tree'), NotFoundError)
      await assert.rejects(store.get('tree/missing', {range: {offset: 0, length: 1}}), NotFoundError)
    })

    it('shows no secret in its display address or its identity', () => {
      assert.doesNotMatch(store.displayUrl, /sig=|AccountKey=/i)
      assert.doesNotMatch(store.identity, /sig=|AccountKey=|Eby8vdM02xNOcqFl/i)
      assert.ok(store.identity.length > 0)
    })
  })
}
