// Writes one task's primary copy (a tar streamed to the store) and its secondary copy (plain
// files in a local root) while reading the captured state once, hashing every file on the way.
import {createHash} from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {Readable} from 'node:stream'
import {scanTree} from '../archive/tree.js'
import {padding, TAR_END, tarHeader} from '../archive/tar.js'
import {OperationError, messageOf} from '../errors.js'
import type {CopyWriter, LocalCopy} from '../local/secondary.js'
import type {PrimaryStore} from '../stores/store.js'
import {WriteQueue} from '../util/write-queue.js'
import {FORMAT_VERSION, keys} from './layout.js'
import {sha256, type FileEntry, type TaskIndex, type TaskRecord} from './manifest.js'

const READ_SIZE = 1 << 20

export interface WriteTaskInput {
  store: PrimaryStore
  job: string
  checkpointId: string
  taskId: string
  sourceDir: string
  /** Where to write the secondary copy; undefined writes the primary copy only. */
  secondary?: () => Promise<CopyWriter>
  onProgress?: (bytes: number, total: number) => void
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
  const entries = await scanTree(sourceDir, `task ${taskId}`)
  const total = entries.reduce((sum, e) => sum + e.size, 0)

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

  let captured = 0
  const archiveHash = createHash('sha256')
  let archiveSize = 0
  let captureError: unknown
  async function* archive(): AsyncGenerator<Buffer> {
    for (const entry of entries) {
      const head = tarHeader(entry)
      yield head
      archiveSize += head.length
      if (writer) await writer.add(entry).catch(dropSecondary)
      if (entry.type !== 'file') continue
      entry.offset = archiveSize
      yield* fileBytes(entry)
      archiveSize += entry.size
      const pad = padding(entry.size)
      if (pad > 0) {
        yield Buffer.alloc(pad)
        archiveSize += pad
      }
    }
    yield TAR_END
    archiveSize += TAR_END.length
  }
  async function* fileBytes(entry: FileEntry): AsyncGenerator<Buffer> {
    const source = await fs.open(path.join(sourceDir, ...entry.path.split('/')), 'r')
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
        input.onProgress?.((captured += chunk.length), total)
        // The secondary copy is written behind the read: the upload does not wait for the disk.
        if (out) await queue!.push(chunk).catch(failSecondary)
        yield chunk
      }
      if (read !== entry.size) {
        throw new OperationError(`task ${taskId}: ${entry.path} changed size while it was captured (${entry.size} → ${read} bytes); pause the task or give it a snapshot command`)
      }
      entry.sha256 = hash.digest('hex')
      if (out) await queue!.drain().catch(failSecondary)
      if (out && writer) {
        const done = out
        out = undefined
        await writer.closeFile(done, entry).catch(dropSecondary)
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
    try {
      for await (const chunk of archive()) {
        archiveHash.update(chunk)
        yield chunk
      }
    } catch (error) {
      captureError = error
      throw error
    }
  }

  try {
    await store.put(keys.archive(job, checkpointId, taskId), Readable.from(hashed(), {objectMode: false, highWaterMark: 4 << 20}))
    const index: TaskIndex = {format: FORMAT_VERSION, taskId, entries}
    const indexBytes = Buffer.from(JSON.stringify(index))
    const indexKey = keys.index(job, checkpointId, taskId)
    await store.put(indexKey, indexBytes)
    const files = entries.filter((e) => e.type === 'file').length
    const record: TaskRecord = {
      taskId,
      archive: keys.archive(job, checkpointId, taskId),
      archiveSize,
      archiveSha256: archiveHash.digest('hex'),
      index: indexKey,
      indexSize: indexBytes.length,
      indexSha256: sha256(indexBytes),
      files,
      bytes: total,
    }
    let copy: LocalCopy | undefined
    if (writer) copy = await writer.finish().catch((error) => void dropSecondary(error))
    if (!copy) await startedWriter?.abort()
    return {record, copy, secondaryError: copy ? undefined : secondaryError}
  } catch (error) {
    await startedWriter?.abort()
    throw captureError ?? error
  }
}
