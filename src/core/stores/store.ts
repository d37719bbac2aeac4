// The primary store interface: stores move bytes and nothing else. Hashing, manifests and
// verification live above them (src/core/checkpoint, src/core/restore).
import type {Readable} from 'node:stream'

/** Transfer defaults: bytes per block or range, and blocks or ranges in flight per transfer. */
export const DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024
export const DEFAULT_CONCURRENCY = 4

export interface StoreCapabilities {
  /** put({ifAbsent}) is atomic against concurrent writers of the same key. */
  readonly atomicCreateIfAbsent: boolean
  /** Objects are written whole or not at all (no torn reads after a crash). */
  readonly atomicPut: boolean
}

export interface ObjectInfo {
  key: string
  size: number
  lastModified: Date
}

export interface ByteRange {
  offset: number
  /** Number of bytes; omitted means to the end. */
  length?: number
}

/**
 * Runs one idempotent step of a transfer (a block, a range, a commit) with retries. The retry
 * decorator passes one in; a store that moves big objects in steps wraps each network step in it,
 * because only the store still holds a step's bytes once the caller's stream has been read.
 */
export type RetryStep = <T>(step: () => Promise<T>) => Promise<T>

export interface PutOptions {
  /** Fail with AlreadyExistsError when the key exists (create-if-absent). */
  ifAbsent?: boolean
  /** Called with the number of bytes sent so far. */
  onProgress?: (bytes: number) => void
  /** Set by the retry decorator (retry.ts); stores may ignore it. */
  retryStep?: RetryStep
}

export interface GetOptions {
  range?: ByteRange
  /**
   * Read as one request, streamed, rather than as blocks fetched in parallel: for small objects,
   * and for ranges the caller already reads several at a time. Stores may ignore it.
   */
  oneRequest?: boolean
  /** Bytes per chunk of the stream the caller wants (restore asks small ones for small files); stores may ignore it. */
  chunkSize?: number
  onProgress?: (bytes: number) => void
  /** Set by the retry decorator (retry.ts); stores may ignore it. */
  retryStep?: RetryStep
}

export interface PrimaryStore {
  /** The store's address with every secret removed, safe for output. */
  readonly displayUrl: string
  /** Tells this store from another (secondary copies record it): the file store's real path; Azure's account, container and prefix. Never a secret. */
  readonly identity: string
  readonly capabilities: StoreCapabilities
  /** Writes an object; durable when the promise resolves. */
  put(key: string, body: Readable | Buffer, options?: PutOptions): Promise<void>
  /** Reads an object, or a range of it without reading the rest (restore depends on it); throws NotFoundError when it is missing. */
  get(key: string, options?: GetOptions): Promise<Readable>
  /** Size and time of an object, or undefined when it is missing. */
  stat(key: string): Promise<ObjectInfo | undefined>
  /** Every object whose key starts with prefix, in any order, across as many pages as it takes. */
  list(prefix: string): AsyncIterable<ObjectInfo>
  /** Removes an object; removing a missing object is not an error. */
  delete(key: string): Promise<void>
  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>
}

/** A size hint above this is not trusted for one allocation up front. */
const MAX_HINT = 256 << 20

/**
 * Reads a whole object into memory; for small objects such as manifests. With the size it should
 * have (a task index's, from its manifest) the bytes go straight into one buffer, so a 37 MB index
 * is not held twice (chunks and their concatenation); a wrong size only costs that saving.
 */
export async function getBuffer(store: PrimaryStore, key: string, expectedSize?: number): Promise<Buffer> {
  const sized = expectedSize !== undefined && Number.isSafeInteger(expectedSize) && expectedSize > 0 && expectedSize <= MAX_HINT
  const into = sized ? Buffer.allocUnsafe(expectedSize) : undefined
  let filled = 0
  const chunks: Buffer[] = []
  for await (const chunk of await store.get(key, {oneRequest: true})) {
    const bytes = chunk as Buffer
    if (into && chunks.length === 0 && filled + bytes.length <= into.length) filled += bytes.copy(into, filled)
    else chunks.push(bytes)
  }
  if (!into) return Buffer.concat(chunks)
  return chunks.length === 0 ? into.subarray(0, filled) : Buffer.concat([into.subarray(0, filled), ...chunks])
}
