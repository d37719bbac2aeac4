// A decorator that retries a primary store's transient failures (TransientStoreError: timeouts,
// 5xx, throttling, resets) with exponential backoff and jitter, within a bounded number of attempts
// and time. Permanent failures (not found, credentials, bad input) fail at once. A store's
// Retry-After (TransientStoreError.retryAfterMs) replaces the backoff, up to a cap.
//
// A put is retried whole: its body (store.ts) is a Buffer or a factory that makes the stream again.
// A body that exists once (sendOnce) is retried only while no try has started sending it.
import type {Readable} from 'node:stream'
import {AlreadyExistsError, TransientStoreError} from '../errors.js'
import {canSendAgain, getBuffer, type Body, type GetOptions, type ObjectInfo, type PrimaryStore, type PutOptions, type StoreProperties} from './store.js'

export interface RetryOptions {
  /** Tries per call or step, the first included. */
  attempts?: number
  baseDelayMs?: number
  maxDelayMs?: number
  /** No new try starts after this long since the first one. */
  maxElapsedMs?: number
  /** The longest Retry-After honoured; a store asking for more waits this long. */
  maxRetryAfterMs?: number
  /** Told before each retry; for a warning on the terminal. */
  onRetry?: (error: Error, attempt: number, delayMs: number) => void
  sleep?: (ms: number) => Promise<void>
}

const DEFAULTS = {attempts: 5, baseDelayMs: 250, maxDelayMs: 8000, maxElapsedMs: 60_000, maxRetryAfterMs: 30_000}

/** A Retry-After value (delay-seconds or an HTTP date) in milliseconds from now, or undefined. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  const text = value?.trim()
  if (!text) return undefined
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000)
  // An HTTP date names its day and month; anything else (a bare "-3") is not one.
  const at = /^[a-z]{3}, /i.test(text) ? Date.parse(text) : NaN
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

function isTransient(error: unknown): boolean {
  return error instanceof TransientStoreError
}

export class RetryingStore implements PrimaryStore {
  readonly displayUrl: string
  readonly identity: string
  readonly properties: StoreProperties
  private readonly opts: Required<Omit<RetryOptions, 'onRetry'>> & Pick<RetryOptions, 'onRetry'>

  constructor(
    readonly inner: PrimaryStore,
    options: RetryOptions = {},
  ) {
    this.displayUrl = inner.displayUrl
    this.identity = inner.identity
    this.properties = inner.properties
    this.opts = {...DEFAULTS, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)), ...options}
  }

  /** The store's Retry-After when it gave one (capped), else exponential backoff with jitter. */
  private delay(attempt: number, error?: unknown): number {
    const asked = error instanceof TransientStoreError ? error.retryAfterMs : undefined
    if (asked !== undefined) return Math.min(asked, this.opts.maxRetryAfterMs)
    const ceiling = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (attempt - 1))
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2)
  }

  /** Runs fn until it succeeds, fails permanently, or the attempts or the time run out. */
  private async retrying<T>(fn: (attempt: number) => Promise<T>, canRetry: () => boolean): Promise<T> {
    const started = Date.now()
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn(attempt)
      } catch (error) {
        const wait = this.delay(attempt, error)
        const out = attempt >= this.opts.attempts || Date.now() - started + wait > this.opts.maxElapsedMs
        if (!isTransient(error) || !canRetry() || out) throw error
        this.opts.onRetry?.(error as Error, attempt, wait)
        await this.opts.sleep(wait)
      }
    }
  }

  /** Runs one request that is not a store call (the store's open check) under the same retries. */
  retry<T>(request: () => Promise<T>): Promise<T> {
    return this.retrying(request, () => true)
  }

  put(key: string, body: Body, options: PutOptions = {}): Promise<void> {
    return this.retrying(
      () => this.inner.put(key, body, options),
      () => canSendAgain(body),
    )
  }

  async createIfAbsent(key: string, body: Body, options: PutOptions = {}): Promise<void> {
    let ambiguous: TransientStoreError | undefined
    await this.retrying(
      async () => {
        try {
          await this.inner.createIfAbsent(key, body, options)
        } catch (error) {
          // A create whose earlier try may have landed: it is ours if the bytes are, unknown if they cannot be read.
          if (error instanceof AlreadyExistsError && ambiguous && Buffer.isBuffer(body)) {
            const found = await this.sameBytes(key, body)
            if (found === 'same') return
            if (found === 'unreadable') throw ambiguous
          }
          if (error instanceof TransientStoreError) ambiguous = error
          throw error
        }
      },
      () => canSendAgain(body),
    )
  }

  private async sameBytes(key: string, body: Buffer): Promise<'same' | 'other' | 'unreadable'> {
    try {
      return (await getBuffer(this.inner, key)).equals(body) ? 'same' : 'other'
    } catch {
      return 'unreadable'
    }
  }

  get(key: string, options: GetOptions = {}): Promise<Readable> {
    return this.retrying(
      () => this.inner.get(key, options),
      () => true,
    )
  }

  stat(key: string): Promise<ObjectInfo | undefined> {
    return this.retrying(
      () => this.inner.stat(key),
      () => true,
    )
  }

  /** A failed listing starts over and skips the keys it already gave out. */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const seen = new Set<string>()
    let started = Date.now()
    for (let attempt = 1; ; attempt++) {
      const before = seen.size
      try {
        for await (const info of this.inner.list(prefix)) {
          if (seen.has(info.key)) continue
          seen.add(info.key)
          yield info
        }
        return
      } catch (error) {
        if (seen.size > before) {
          // The listing moved forward since the last failure: a fresh budget for this one.
          attempt = 1
          started = Date.now()
        }
        const wait = this.delay(attempt, error)
        if (!isTransient(error) || attempt >= this.opts.attempts || Date.now() - started + wait > this.opts.maxElapsedMs) throw error
        this.opts.onRetry?.(error as Error, attempt, wait)
        await this.opts.sleep(wait)
      }
    }
  }

  delete(key: string): Promise<void> {
    return this.retrying(
      () => this.inner.delete(key),
      () => true,
    )
  }

  close(): Promise<void> {
    return this.inner.close()
  }
}

export function withRetry(primary: PrimaryStore, options?: RetryOptions): RetryingStore {
  return new RetryingStore(primary, options)
}
