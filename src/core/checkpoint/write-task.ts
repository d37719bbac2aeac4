// Writes one task's primary copy (a tar streamed to the store) and its secondary copy (plain
// files in a local root) while reading the captured state once, hashing every file on the way.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {Readable} from 'node:stream'
import {createHash} from '../util/crypto.js'
import {scanState} from '../archive/tree.js'
import {scanStateRoot} from '../archive/owners.js'
import {padding, TAR_END, tarHeader} from '../archive/tar.js'
import {OperationError, messageOf} from '../errors.js'
import type {CopyWriter, LocalCopy} from '../local/secondary.js'
import type {PrimaryStore} from '../stores/store.js'
import {dataRuns} from '../util/sparse.js'
import {WriteQueue} from '../util/write-queue.js'
import type {ArchiveProgress, ProgressCounts} from '../progress.js'
import {ChangeCheck} from './change-check.js'
import {IndexBody} from './index-stream.js'
import {FORMAT_VERSION, keys} from './layout.js'
import type {FileEntry, TaskRecord} from './manifest.js'

const READ_SIZE = 1 << 20
const SMALL_FILE = 256 << 10
const READ_AHEAD_FILES = 64
const READ_AHEAD_BYTES = 16 << 20
const SECONDARY_WRITES = 32
/** Big files whose secondary copy may still be writing while the next file is read (each holds up to 8 chunks). */
const SECONDARY_BIG_FILES = 4

export interface WriteTaskInput {
  store: PrimaryStore
  job: string
  checkpointId: string
  taskId: string
  sourceDir: string
  /** Where the state folder's own metadata is read (default sourceDir). */
  rootDir?: string
  /** Where to write the secondary copy; undefined writes the primary copy only. */
  secondary?: () => Promise<CopyWriter>
  /** Starts this task's progress phase once its totals are known (issue 15: progress). */
  progress?: (total: ProgressCounts) => ArchiveProgress | undefined
}

export interface WriteTaskResult {
  record: TaskRecord
  /** The pending secondary copy, when it was written. */
  copy?: LocalCopy
  /** Why the secondary copy was not written. */
  secondaryError?: string
}

export async function writeTaskCopies(input: WriteTaskInput): Promise<WriteTaskResult> {
  const {store, job, checkpointId, taskId, sourceDir} = input
  const {entries, stamps, startedMs} = await scanState(sourceDir, `task ${taskId}`)
  // A stateDir that a snapshot command does not need may be missing: its snapshot folder stands in.
  const root = await scanStateRoot(input.rootDir ?? sourceDir).catch(() => scanStateRoot(sourceDir))
  const total = entries.reduce((sum, e) => sum + e.size, 0)
  const progress = input.progress?.({bytes: total, files: entries.filter((e) => e.type === 'file').length})

  let writer: CopyWriter | undefined
  let secondaryError: string | undefined
  const dropSecondary = (error: unknown) => {
    if (secondaryError === undefined) secondaryError = messageOf(error)
    writer = undefined
  }
  if (input.secondary) {
    try {
      writer = await input.secondary()
    } catch (error) {
      dropSecondary(error)
    }
  }
  const startedWriter = writer

  const archiveHash = createHash('sha256')
  let archiveSize = 0
  let captureError: unknown
  // Small files are read ahead, several at a time, and their secondary copies written in the
  // background, so a state of many small files does not wait on one open/read/close at a time.
  const smallFiles: number[] = []
  entries.forEach((e, i) => e.type === 'file' && e.size <= SMALL_FILE && smallFiles.push(i))
  const reads = new Map<number, Promise<Buffer>>()
  let nextRead = 0
  let readAheadBytes = 0
  const readAhead = () => {
    while (nextRead < smallFiles.length && reads.size < READ_AHEAD_FILES && readAheadBytes < READ_AHEAD_BYTES) {
      const i = smallFiles[nextRead++]
      const read = readWhole(i)
      read.catch(() => {}) // a failure is reported when the archive reaches the file
      reads.set(i, read)
      readAheadBytes += entries[i].size
    }
  }
  const secondaryWrites = new Set<Promise<void>>()
  /** Runs a secondary-copy write in the background once fewer than `limit` are in flight. */
  const inBackground = async (limit: number, write: () => Promise<void>) => {
    while (secondaryWrites.size >= limit) await Promise.race(secondaryWrites)
    const running: Promise<void> = write().catch(dropSecondary).finally(() => secondaryWrites.delete(running))
    secondaryWrites.add(running)
  }
  const writeSecondaryFile = (entry: FileEntry, data: Buffer) => inBackground(SECONDARY_WRITES, async () => writer?.writeFile(entry, data))
  const settleSecondaryWrites = () => Promise.all(secondaryWrites)

  async function* archive(): AsyncGenerator<Buffer> {
    for (const [i, entry] of entries.entries()) {
      const head = tarHeader(entry)
      if (writer) await writer.add(entry).catch(dropSecondary)
      if (entry.type === 'file' && entry.size <= SMALL_FILE) {
        yield await smallFile(entry, head, await readSmall(i))
        continue
      }
      yield head
      archiveSize += head.length
      if (entry.type !== 'file') continue
      entry.offset = archiveSize
      yield* fileBytes(entry, i)
      archiveSize += entry.size
      const pad = padding(entry.size)
      if (pad > 0) {
        yield Buffer.alloc(pad)
        archiveSize += pad
      }
    }
    await settleSecondaryWrites()
    await changes.recheck()
    yield TAR_END
    archiveSize += TAR_END.length
  }
  /** Reads a small file whole, then checks on the open handle that it did not change meanwhile. */
  async function readWhole(i: number): Promise<Buffer> {
    const handle = await fs.open(sourcePath(entries[i]), 'r')
    try {
      const data = await handle.readFile()
      changes.check(i, data.length, await handle.stat())
      return data
    } finally {
      await handle.close()
    }
  }
  async function readSmall(i: number): Promise<Buffer> {
    readAhead()
    const data = await (reads.get(i) ?? readWhole(i))
    reads.delete(i)
    readAheadBytes -= entries[i].size
    readAhead()
    return data
  }
  async function smallFile(entry: FileEntry, head: Buffer, data: Buffer): Promise<Buffer> {
    entry.sha256 = createHash('sha256').update(data).digest('hex')
    entry.offset = archiveSize + head.length
    progress?.mark(entry.offset + entry.size, data.length, 1)
    // Waits only for room among the background writes, not for this write.
    if (writer) await writeSecondaryFile(entry, data)
    const block = Buffer.concat([head, data, Buffer.alloc(padding(entry.size))])
    archiveSize += block.length
    return block
  }
  const sourcePath = (entry: FileEntry) => path.join(sourceDir, ...entry.path.split('/'))
  const changes = new ChangeCheck(taskId, entries, stamps, startedMs, sourcePath)
  async function* fileBytes(entry: FileEntry, i: number): AsyncGenerator<Buffer> {
    const source = await fs.open(sourcePath(entry), 'r')
    let out: fs.FileHandle | undefined
    if (writer) out = await writer.openFile(entry).catch((error) => void dropSecondary(error))
    const queue = out ? new WriteQueue(out) : undefined
    const failSecondary = (error: unknown) => {
      out?.close().catch(() => {})
      out = undefined
      dropSecondary(error)
    }
    const hash = createHash('sha256')
    let read = 0
    try {
      for (;;) {
        // Reads one byte past the recorded size to notice a file that grew during capture.
        const buffer = Buffer.allocUnsafe(Math.min(READ_SIZE, entry.size - read + 1))
        const {bytesRead} = await source.read(buffer, 0, buffer.length, null)
        if (bytesRead === 0) break
        read += bytesRead
        if (read > entry.size) break
        const chunk = buffer.subarray(0, bytesRead)
        hash.update(chunk)
        progress?.mark(entry.offset! + read, chunk.length)
        // The secondary copy is written behind the read: the upload does not wait for the disk.
        // Positioned writes that skip zero blocks keep a sparse file sparse in the copy.
        if (out) for (const run of dataRuns(chunk, read - bytesRead) ?? [{data: chunk, position: read - bytesRead}]) await queue!.push(run.data, undefined, run.position).catch(failSecondary)
        yield chunk
      }
      entry.sha256 = hash.digest('hex')
      changes.check(i, read, await source.stat())
      progress?.mark(entry.offset! + read, 0, 1)
      if (out && writer) {
        // The rest of this file's copy is written while the next file is read.
        const [done, copy, pending] = [out, writer, queue!]
        out = undefined
        await inBackground(SECONDARY_BIG_FILES, async () => {
          try {
            await pending.drain()
            await copy.closeFile(done, entry)
          } catch (error) {
            await done.close().catch(() => {})
            throw error
          }
        })
      }
    } finally {
      await source.close()
      if (out) {
        await queue?.drain().catch(() => {})
        await out.close().catch(() => {})
      }
    }
  }
  async function* hashed(): AsyncGenerator<Buffer> {
    let yielding = false
    try {
      for await (const chunk of archive()) {
        archiveHash.update(chunk)
        yielding = true
        yield chunk
        yielding = false
      }
    } catch (error) {
      // An error thrown in at the yield is the store giving up the body (an abort), not a capture failure.
      if (!yielding) captureError = error
      throw error
    }
  }

  try {
    await store.put(keys.archive(job, checkpointId, taskId), Readable.from(hashed(), {objectMode: false, highWaterMark: 4 << 20}), {onProgress: (sent) => progress?.sent(sent)})
    const index = new IndexBody({format: FORMAT_VERSION, taskId, root, entries})
    const indexKey = keys.index(job, checkpointId, taskId)
    await store.put(indexKey, index.stream())
    progress?.end()
    const files = entries.filter((e) => e.type === 'file').length
    const record: TaskRecord = {
      taskId,
      archive: keys.archive(job, checkpointId, taskId),
      archiveSize,
      archiveSha256: archiveHash.digest('hex'),
      index: indexKey,
      indexSize: index.size,
      indexSha256: index.sha256(),
      files,
      bytes: total,
    }
    let copy: LocalCopy | undefined
    if (writer) copy = await writer.finish(root).catch((error) => void dropSecondary(error))
    if (!copy) await startedWriter?.abort()
    return {record, copy, secondaryError: copy ? undefined : secondaryError}
  } catch (error) {
    await settleSecondaryWrites()
    await startedWriter?.abort()
    throw captureError ?? error
  }
}
