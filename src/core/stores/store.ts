// The primary store interface: stores move bytes and nothing else. Hashing, manifests and
// verification live above them (src/core/checkpoint, src/core/restore).
import {Readable} from 'node:stream'
import {OperationError} from '../errors.js'

/** Transfer defaults: bytes per block or range, and blocks or ranges in flight per transfer. */
export const DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024
export const DEFAULT_CONCURRENCY = 4

/** What a caller may count on from a store: data, declared by the store, read by the callers. */
export interface StoreProperties {
  /** Requests the store serves well in parallel (blocks or ranges per transfer, objects at once). */
  readonly connections: number
  /** createIfAbsent() is atomic against concurrent writers of the same key. */
  readonly atomicCreate: boolean
  /** The store accepts writes (false: a read-only mount, a SAS without write permission). */
  readonly writable: boolean
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
 * The bytes of a put: a Buffer, or a factory that makes a fresh stream of them for each try, so
 * that a retry can send the body again from its start (restic's rewindable reader).
 */
export type Body = Buffer | (() => Readable)

const oneShot = new WeakSet<() => Readable>()
const used = new WeakSet<() => Readable>()

/**
 * A body that exists once: a stream made as it is sent (a take's archive, hashed on the way).
 * A retry may send it only while no try has started it.
 */
export function sendOnce(stream: Readable): () => Readable {
  const factory = () => {
    if (used.has(factory)) throw new OperationError('a stream body cannot be sent twice')
    used.add(factory)
    return stream
  }
  oneShot.add(factory)
  return factory
}

/** Whether a new try can send the body from its start. */
export function canSendAgain(body: Body): boolean {
  return Buffer.isBuffer(body) || !oneShot.has(body) || !used.has(body)
}

/** A fresh stream of the body's bytes. */
export function streamOf(body: Body): Readable {
  return Buffer.isBuffer(body) ? Readable.from(body.length === 0 ? [] : [body]) : body()
}

export interface PutOptions {
  /** Called with the number of bytes sent so far. */
  onProgress?: (bytes: number) => void
}

export interface GetOptions {
  range?: ByteRange
  /** Bytes per chunk of the stream the caller wants (restore asks small ones for small files); stores may ignore it. */
  chunkSize?: number
  onProgress?: (bytes: number) => void
}

export interface PrimaryStore {
  /** The store's address with every secret removed, safe for output. */
  readonly displayUrl: string
  /** Tells this store from another (secondary copies record it): the file store's real path; Azure's account, container and prefix. Never a secret. */
  readonly identity: string
  readonly properties: StoreProperties
  /** Writes an object, replacing one that is there; durable when the promise resolves. */
  put(key: string, body: Body, options?: PutOptions): Promise<void>
  /** Writes an object only if the key is free; throws AlreadyExistsError when it is not. */
  createIfAbsent(key: string, body: Body, options?: PutOptions): Promise<void>
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

/** How the registry opens a store (store.ts, so that no store imports the registry). */
export interface StoreOptions {
  /** Folder that relative file paths resolve against. */
  baseDir: string
  /** Upload/download block size in bytes. */
  blockSize?: number
  /** Parallel blocks or ranges per transfer. */
  concurrency?: number
  env?: NodeJS.ProcessEnv
  /** A missing file store is created (default) rather than refused; readers set it false. */
  create?: boolean
  /** Called when opening created a new, empty store. */
  onCreated?: (where: string) => void
}

/** A size hint above this is not trusted for one allocation up front. */
const MAX_HINT = 256 << 20

/**
 * Reads a whole object into memory; for small objects such as manifests. With the size it should
 * have (a task index's, from its manifest) the bytes go straight into one buffer, so a 37 MB index
 * is not held twice (chunks and their concatenation); a wrong size only costs that saving.
 */
export async function getBuffer(primary: PrimaryStore, key: string, expectedSize?: number): Promise<Buffer> {
  const sized = expectedSize !== undefined && Number.isSafeInteger(expectedSize) && expectedSize > 0 && expectedSize <= MAX_HINT
  const into = sized ? Buffer.allocUnsafe(expectedSize) : undefined
  let filled = 0
  const chunks: Buffer[] = []
  for await (const chunk of await primary.get(key)) {
    const bytes = chunk as Buffer
    if (into && chunks.length === 0 && filled + bytes.length <= into.length) filled += bytes.copy(into, filled)
    else chunks.push(bytes)
  }
  if (!into) return Buffer.concat(chunks)
  return chunks.length === 0 ? into.subarray(0, filled) : Buffer.concat([into.subarray(0, filled), ...chunks])
}
