// The embedded default primary store: a folder. Writes go to a temp file that is fsynced,
// then renamed (or hard-linked, for create-if-absent) into place, then the folder is fsynced.
import {createReadStream, createWriteStream} from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {randomBytes} from '../util/crypto.js'
import {AlreadyExistsError, CkptError, NotFoundError, OperationError, StoreUnavailableError, messageOf, type StoreRefusal} from '../errors.js'
import {DEFAULT_CONCURRENCY, streamOf, type Body, type GetOptions, type ObjectInfo, type PrimaryStore, type PutOptions, type StoreProperties} from './store.js'

const TEMP_PREFIX = '.ckpt-tmp-'

export class FileStore implements PrimaryStore {
  readonly properties: StoreProperties
  readonly displayUrl: string
  readonly identity: string

  /** Temporary files of writes in progress, so an interrupted command can remove them. */
  private readonly temporaries = new Set<string>()

  constructor(
    readonly root: string,
    options: {writable?: boolean} = {},
  ) {
    this.displayUrl = root
    this.identity = root
    // link(2) makes create-if-absent atomic; a local disk serves a few reads at once well.
    this.properties = {connections: DEFAULT_CONCURRENCY, atomicCreate: true, writable: options.writable ?? true}
  }

  /**
   * Opens the folder at root. A missing folder is created only with `create` (a take or a run);
   * for a reader it is a mistyped address, not an empty store. `created` says whether it was made.
   */
  static async open(root: string, options: {create?: boolean} = {}): Promise<{store: FileStore; created: boolean}> {
    let created = false
    try {
      if (!(await fs.stat(root)).isDirectory()) throw new StoreUnavailableError(`primary store ${root} is not a folder; check the address (the job file's "primary", CKPT_PRIMARY or the command line)`)
    } catch (error) {
      if (error instanceof StoreUnavailableError) throw error
      const code = (error as NodeJS.ErrnoException).code
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || !options.create) {
        throw new StoreUnavailableError(
          code === 'ENOENT' || code === 'ENOTDIR'
            ? `primary store ${root} does not exist; check the address (the job file's "primary", CKPT_PRIMARY or the command line), or create the store with a first 'ckpt checkpoint take' (or mkdir -p ${root})`
            : `primary store ${root} cannot be opened: ${code ?? messageOf(error)}`,
          {cause: error},
        )
      }
      try {
        await fs.mkdir(root, {recursive: true})
      } catch (mkdirError) {
        const message = `primary store ${root} cannot be created: ${(mkdirError as NodeJS.ErrnoException).code ?? messageOf(mkdirError)}`
        const refusal = refusalOf(mkdirError)
        // Refused (read-only, no permission) is the store's answer; anything else (a file in the way) is a failed operation.
        throw refusal ? new StoreUnavailableError(message, {cause: mkdirError, refusal}) : new OperationError(message, {cause: mkdirError})
      }
      created = true
    }
    // The real path names the store the same way whatever link led to it (secondary copies record it).
    const real = await fs.realpath(root)
    return {store: new FileStore(real, {writable: await writable(real)}), created}
  }

  private pathOf(key: string): string {
    if (key === '' || key.startsWith('/') || key.split('/').some((part) => part === '' || part === '.' || part === '..' || part.startsWith(TEMP_PREFIX))) {
      throw new OperationError(`invalid object key ${JSON.stringify(key)}`)
    }
    return path.join(this.root, ...key.split('/'))
  }

  private fail(action: string, key: string, error: unknown): never {
    const err = error as NodeJS.ErrnoException
    const message = `primary store ${this.root}: cannot ${action} ${key}: ${err.code ?? err.message}`
    const refusal = refusalOf(error)
    if (refusal) throw new StoreUnavailableError(`${message}${refusal === 'read-only' ? ' (the store is on a read-only file system)' : ''}`, {cause: error, refusal})
    throw new OperationError(message, {cause: error})
  }

  put(key: string, body: Body, options: PutOptions = {}): Promise<void> {
    return this.write(key, body, false, options)
  }

  createIfAbsent(key: string, body: Body, options: PutOptions = {}): Promise<void> {
    return this.write(key, body, true, options)
  }

  private async write(key: string, body: Body, ifAbsent: boolean, options: PutOptions): Promise<void> {
    const target = this.pathOf(key)
    const dir = path.dirname(target)
    const temp = path.join(dir, `${TEMP_PREFIX}${randomBytes(6).toString('hex')}-${path.basename(target)}`)
    this.temporaries.add(temp)
    let source: Readable | undefined
    try {
      await fs.mkdir(dir, {recursive: true})
      let sent = 0
      source = streamOf(body)
      const counter = async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          sent += chunk.length
          options.onProgress?.(sent)
          yield chunk
        }
      }
      const out = createWriteStream(temp, {flags: 'wx'})
      await pipeline(source, counter, out)
      const handle = await fs.open(temp, 'r')
      try {
        await handle.sync()
      } finally {
        await handle.close()
      }
      if (ifAbsent) {
        // link(2) fails with EEXIST atomically, so two writers can never both create the key.
        try {
          await fs.link(temp, target)
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new AlreadyExistsError(key)
          throw error
        }
        await fs.unlink(temp)
      } else {
        await fs.rename(temp, target)
      }
      await syncDir(dir)
    } catch (error) {
      // the write's own error is thrown below; a temp file left behind is removed as a leftover later
      await fs.rm(temp, {force: true}).catch(() => {})
      source?.destroy()
      // The body's own failure (a capture error) is the caller's to report.
      if (error instanceof CkptError) throw error
      throw writeFailure(this.root, key, error)
    } finally {
      this.temporaries.delete(temp)
    }
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    const file = this.pathOf(key)
    let handle: fs.FileHandle
    try {
      // O_NONBLOCK: opening a FIFO (or a device) that stands where an object belongs must not wait
      // for a writer; the fstat below then turns it away. Reads of a regular file ignore the flag.
      handle = await fs.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') throw new NotFoundError(key)
      this.fail('read', key, error)
    }
    if (!(await handle.stat()).isFile()) {
      await handle.close()
      throw new NotFoundError(key)
    }
    const start = options.range?.offset ?? 0
    const length = options.range?.length
    if (length === 0) {
      await handle.close()
      return Readable.from([])
    }
    const end = length === undefined ? undefined : start + length - 1
    const stream = createReadStream('', {fd: handle, start, end, highWaterMark: chunkSizeOf(options), autoClose: true})
    if (options.onProgress) {
      let read = 0
      stream.on('data', (chunk: Buffer | string) => options.onProgress?.((read += chunk.length)))
    }
    return stream
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const st = await fs.stat(this.pathOf(key))
      return st.isFile() ? {key, size: st.size, lastModified: st.mtime} : undefined
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
      this.fail('stat', key, error)
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const slash = prefix.lastIndexOf('/')
    const base = slash < 0 ? '' : prefix.slice(0, slash)
    const start = base === '' ? this.root : path.join(this.root, ...base.split('/'))
    yield* this.walk(start, base, prefix)
  }

  private async *walk(dir: string, keyDir: string, prefix: string): AsyncIterable<ObjectInfo> {
    let entries: import('node:fs').Dirent[]
    try {
      entries = await fs.readdir(dir, {withFileTypes: true})
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') return
      this.fail('list', keyDir || '/', error)
    }
    for (const entry of entries) {
      if (entry.name.startsWith(TEMP_PREFIX)) continue
      const key = keyDir === '' ? entry.name : `${keyDir}/${entry.name}`
      if (entry.isDirectory()) {
        if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) yield* this.walk(path.join(dir, entry.name), key, prefix)
      } else if (entry.isFile() && key.startsWith(prefix)) {
        try {
          const st = await fs.stat(path.join(dir, entry.name))
          yield {key, size: st.size, lastModified: st.mtime}
        } catch {
          // removed while listing
        }
      }
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key)
    try {
      await fs.unlink(file)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') return
      this.fail('delete', key, error)
    }
    // not every file system can fsync a folder; the file itself was fsynced
    await syncDir(path.dirname(file)).catch(() => {})
  }

  async close(): Promise<void> {}

  /** Removes the temporary files of this process's writes in progress (an interrupted command). */
  async removeOwnTemporaries(): Promise<void> {
    await Promise.all([...this.temporaries].map((temp) => fs.rm(temp, {force: true})))
  }

  /**
   * Maintenance for prune, under the job's exclusive lock: removes temporary files under prefix
   * last written more than olderThanMs ago (a killed write's), and empty folders below
   * foldersUnder (data/chk-N/ of a killed take or a pruned checkpoint: no take writes while the
   * lock is held). Azure has no such leftovers: it drops uncommitted blocks itself.
   */
  async removeLeftovers(options: {prefix: string; foldersUnder: string; olderThanMs: number; dryRun?: boolean; now?: number}): Promise<StoreLeftovers> {
    const found: StoreLeftovers = {temporaries: [], folders: [], bytes: 0}
    const old = (st: {mtimeMs: number}) => (options.now ?? Date.now()) - st.mtimeMs > options.olderThanMs
    const folderRoot = path.join(this.root, ...options.foldersUnder.split('/').filter(Boolean))
    // Post-order, so a folder whose only content was empty folders goes too; returns whether dir is (now) empty.
    const walk = async (dir: string, rel: string): Promise<boolean> => {
      let entries: import('node:fs').Dirent[]
      try {
        entries = await fs.readdir(dir, {withFileTypes: true})
      } catch {
        // an unreadable folder is not empty, so it is kept
        return false
      }
      let left = entries.length
      for (const entry of entries) {
        const abs = path.join(dir, entry.name)
        const relName = rel === '' ? entry.name : `${rel}/${entry.name}`
        // gone since the folder was read: not listed
        const st = await fs.lstat(abs).catch(() => undefined)
        if (!st) continue
        if (entry.isFile() && entry.name.startsWith(TEMP_PREFIX) && old(st)) {
          found.temporaries.push(relName)
          found.bytes += st.size
          if (!options.dryRun) await fs.rm(abs, {force: true})
          left--
        } else if (entry.isDirectory() && (await walk(abs, relName)) && abs.startsWith(folderRoot + path.sep)) {
          found.folders.push(relName)
          if (!options.dryRun) await fs.rmdir(abs).catch(() => left++)
          left--
        }
      }
      return left === 0
    }
    const base = options.prefix.split('/').filter(Boolean)
    await walk(path.join(this.root, ...base), base.join('/'))
    return found
  }
}

/** What removeLeftovers found (and removed, unless a dry run): keys relative to the store root. */
export interface StoreLeftovers {
  temporaries: string[]
  folders: string[]
  bytes: number
}

const WRITE_HINTS: Record<string, string> = {
  ENOSPC: 'the file system of the primary store is full; free space there',
  EDQUOT: 'the disk quota of the primary store is used up',
  EROFS: 'the primary store is on a read-only file system',
  EACCES: 'this user may not write there',
  EPERM: 'this user may not write there',
  EIO: 'the disk reported an I/O error',
}

/**
 * A failed write names the key and the cause. A store that refuses writes (full, read-only, no
 * permission, failing disk) is exit 5; anything else, such as a path through a regular file, exit 1.
 */
function writeFailure(root: string, key: string, error: unknown): CkptError {
  const code = (error as NodeJS.ErrnoException).code
  const hint = code === undefined ? undefined : WRITE_HINTS[code]
  const message = `primary store ${root}: cannot write ${key}: ${code ?? (error as Error).message}${hint ? ` (${hint})` : ''}`
  // A refusal (read-only, no permission) is marked so a reader may go on without its lock.
  return hint ? new StoreUnavailableError(message, {cause: error, refusal: refusalOf(error)}) : new OperationError(message, {cause: error})
}

export async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Whether this process may write in the folder: false on a read-only mount or without permission. */
async function writable(root: string): Promise<boolean> {
  try {
    await fs.access(root, fs.constants.W_OK)
    return true
  } catch (error) {
    if (refusalOf(error)) return false
    throw new StoreUnavailableError(`primary store ${root} cannot be opened: ${(error as NodeJS.ErrnoException).code ?? messageOf(error)}`, {cause: error})
  }
}

/** The file store behind any decorators, for its own maintenance (temporaries, empty folders). */
export function fileStoreOf(primary: PrimaryStore): FileStore | undefined {
  for (let at: unknown = primary; at; at = (at as {inner?: unknown}).inner) if (at instanceof FileStore) return at
  return undefined
}

/** A file system that refuses writes: read-only (a mounted recovery copy), or no permission. */
function refusalOf(error: unknown): StoreRefusal | undefined {
  const code = (error as NodeJS.ErrnoException)?.code
  if (code === 'EROFS') return 'read-only'
  if (code === 'EACCES' || code === 'EPERM') return 'refused'
  return undefined
}

/** 1 MiB reads, unless the caller asks for smaller ones (at least 4 KiB). */
export function chunkSizeOf(options: GetOptions): number {
  const asked = options.chunkSize
  return asked !== undefined && Number.isSafeInteger(asked) ? Math.min(1 << 20, Math.max(4 << 10, asked)) : 1 << 20
}
