// The retry decorator, against a tiny in-memory store that fails on purpose. This tests the
// decorator itself; the Azure SDK is not involved (the Azure store runs against Azurite).
import assert from 'node:assert/strict'
import {Readable} from 'node:stream'
import {describe, it} from 'node:test'
import {AlreadyExistsError, NotFoundError, StoreUnavailableError, TransientStoreError} from '../../../src/core/errors.js'
import {parseRetryAfter, withRetry, type RetryOptions} from '../../../src/core/stores/retry.js'
import {getBuffer, sendOnce, streamOf, type Body, type GetOptions, type ObjectInfo, type PrimaryStore} from '../../../src/core/stores/store.js'

/** An in-memory store whose next calls fail with the queued errors. */
class FlakyStore implements PrimaryStore {
  readonly displayUrl = 'memory://flaky'
  readonly identity = 'memory://flaky'
  readonly properties = {connections: 4, atomicCreate: true, writable: true}
  readonly objects = new Map<string, Buffer>()
  readonly failures: Error[] = []
  calls = 0
  /** Fail the listing after this many keys, once per queued failure. */
  listFailAfter = Infinity
  /** Make put() land the object, then fail (an answer lost on the way back). */
  landThenFail = false

  private maybeFail(): void {
    this.calls++
    const failure = this.failures.shift()
    if (failure) throw failure
  }

  put(key: string, body: Body): Promise<void> {
    return this.write(key, body, false)
  }

  createIfAbsent(key: string, body: Body): Promise<void> {
    return this.write(key, body, true)
  }

  private async write(key: string, body: Body, ifAbsent: boolean): Promise<void> {
    const bytes = Buffer.concat(await streamOf(body).toArray())
    if (ifAbsent && this.objects.has(key)) {
      this.calls++
      throw new AlreadyExistsError(key)
    }
    if (this.landThenFail) {
      this.landThenFail = false
      this.objects.set(key, bytes)
      this.calls++
      throw new TransientStoreError('answer lost')
    }
    this.maybeFail()
    this.objects.set(key, bytes)
  }

  async get(key: string, _options?: GetOptions): Promise<Readable> {
    this.maybeFail()
    const body = this.objects.get(key)
    if (!body) throw new NotFoundError(key)
    return Readable.from([body])
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    this.maybeFail()
    const body = this.objects.get(key)
    return body && {key, size: body.length, lastModified: new Date()}
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    this.calls++
    let given = 0
    for (const [key, body] of this.objects) {
      if (!key.startsWith(prefix)) continue
      if (given++ === this.listFailAfter && this.failures.length > 0) throw this.failures.shift()
      yield {key, size: body.length, lastModified: new Date()}
    }
  }

  async delete(key: string): Promise<void> {
    this.maybeFail()
    this.objects.delete(key)
  }

  async close(): Promise<void> {}
}

function setup(options: RetryOptions = {}) {
  const inner = new FlakyStore()
  const delays: number[] = []
  const store = withRetry(inner, {sleep: async (ms) => void delays.push(ms), ...options})
  return {inner, store, delays}
}

describe('retry decorator', () => {
  it('retries a transient failure, then succeeds, with growing delays', async () => {
    const {inner, store, delays} = setup()
    inner.failures.push(new TransientStoreError('503 ServerBusy'), new TransientStoreError('ECONNRESET'))
    await store.put('k', Buffer.from('v'))
    assert.equal(inner.calls, 3)
    assert.equal(delays.length, 2)
    assert.ok(delays[1] > delays[0] / 2 && delays[0] >= 125 && delays[0] <= 250, String(delays))
    inner.failures.push(new TransientStoreError('timeout'))
    assert.equal((await getBuffer(store, 'k')).toString(), 'v')
  })

  it("waits as long as the store's Retry-After says, up to a cap, in calls and listings", async () => {
    const {inner, store, delays} = setup({maxRetryAfterMs: 20_000})
    const busy = (ms: number) => Object.assign(new TransientStoreError('503 ServerBusy'), {retryAfterMs: ms})
    inner.failures.push(busy(3000), busy(0), busy(3_600_000))
    await store.put('k', Buffer.from('v'))
    assert.deepEqual(delays, [3000, 0, 20_000])
    inner.listFailAfter = 0
    inner.failures.push(busy(1500))
    assert.deepEqual((await store.retry(async () => [])).length, 0)
    for await (const _ of store.list('k')) void _
    assert.deepEqual(delays, [3000, 0, 20_000, 1500])
  })

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2030-01-01T00:00:00Z')
    assert.equal(parseRetryAfter('5', now), 5000)
    assert.equal(parseRetryAfter(' 0 ', now), 0)
    assert.equal(parseRetryAfter('Tue, 01 Jan 2030 00:00:07 GMT', now), 7000)
    assert.equal(parseRetryAfter('Mon, 31 Dec 2029 23:00:00 GMT', now), 0, 'a date in the past: at once')
    for (const bad of [undefined, '', 'soon', '-3']) assert.equal(parseRetryAfter(bad, now), undefined, String(bad))
  })

  it('fails a permanent failure at once', async () => {
    const {inner, store, delays} = setup()
    inner.failures.push(new StoreUnavailableError('the SAS token expired'))
    await assert.rejects(store.stat('k'), (error) => error instanceof StoreUnavailableError && !(error instanceof TransientStoreError))
    assert.equal(inner.calls, 1)
    assert.deepEqual(delays, [])
    await assert.rejects(store.get('missing'), NotFoundError)
    assert.equal(inner.calls, 2, 'not found is not retried')
  })

  it('gives up after the allowed attempts and after the allowed time', async (t) => {
    const {inner, store} = setup({attempts: 3})
    for (let i = 0; i < 10; i++) inner.failures.push(new TransientStoreError(`blip ${i}`))
    await assert.rejects(store.delete('k'), /blip 2/)
    assert.equal(inner.calls, 3)

    const slow = new FlakyStore()
    for (let i = 0; i < 10; i++) slow.failures.push(new TransientStoreError(`blip ${i}`))
    // A clock that moves only by the waits: the budget is checked against time the retries spent, not a loaded machine's.
    t.mock.timers.enable({apis: ['Date'], now: 0})
    const waits: number[] = []
    const sleep = async (ms: number) => {
      waits.push(ms)
      t.mock.timers.tick(ms)
    }
    await assert.rejects(withRetry(slow, {attempts: 100, baseDelayMs: 400, maxDelayMs: 400, maxElapsedMs: 1000, sleep}).delete('k'), TransientStoreError)
    // Waits are 200-400 ms (half the ceiling plus jitter) and a wait that would pass 1000 ms is not
    // taken: 3 tries when every wait is 400 ms, at most 6 when every one is 200 (never the 100 allowed).
    assert.ok(slow.calls >= 3 && slow.calls <= 6, `${slow.calls} tries`)
    assert.equal(waits.length, slow.calls - 1, 'a wait between tries')
    const waited = waits.reduce((a, b) => a + b, 0)
    assert.ok(waited <= 1000, `the time budget bounds the retries: waited ${waits.join(' + ')} ms`)
  })

  it('sends a one-shot stream body again only while no try has read it', async () => {
    const {inner, store} = setup()
    inner.failures.push(new TransientStoreError('after reading'))
    // FlakyStore reads the body before it fails, so the first failure consumes the stream.
    await assert.rejects(store.put('s', sendOnce(Readable.from([Buffer.from('abc')]))), /after reading/)
    assert.equal(inner.calls, 1, 'a read stream is not sent again')
  })

  it('restarts a whole transfer with a fresh stream from the body factory', async () => {
    const {inner, store} = setup()
    inner.failures.push(new TransientStoreError('reset mid-upload'), new TransientStoreError('503'))
    let made = 0
    const factory = () => {
      made++
      return Readable.from([Buffer.from('whole '), Buffer.from('body')])
    }
    await store.put('big', factory)
    assert.equal(made, 3, 'one fresh stream per try')
    assert.equal(inner.objects.get('big')?.toString(), 'whole body')
  })

  it('takes a create-if-absent whose lost answer had landed as its own', async () => {
    const {inner, store} = setup()
    inner.landThenFail = true
    await store.createIfAbsent('manifest', Buffer.from('mine'))
    assert.equal(inner.objects.get('manifest')?.toString(), 'mine')
    inner.landThenFail = true
    await assert.rejects(store.createIfAbsent('manifest', Buffer.from('other')), AlreadyExistsError)
  })

  it('starts a failed listing over without giving out a key twice', async () => {
    const {inner, store} = setup()
    for (let i = 0; i < 30; i++) inner.objects.set(`p/${String(i).padStart(2, '0')}`, Buffer.from('x'))
    inner.listFailAfter = 12
    inner.failures.push(new TransientStoreError('reset mid-listing'))
    const keys: string[] = []
    for await (const info of store.list('p/')) keys.push(info.key)
    assert.equal(keys.length, 30)
    assert.equal(new Set(keys).size, 30)
    assert.equal(inner.calls, 2)
  })
})
