// One task's primary archive (a tar) read from its captured state once: every file is hashed on
// the way and handed to the secondary copy. Small files are read ahead, several at a time, so a
// state of many small files does not wait on one open/read/close at a time.
import type {ArchiveProgress} from '../progress.js'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {padding, TAR_END, tarHeader} from '../archive/tar.js'
import {createHash} from '../util/crypto.js'
import {ChangeCheck} from './change-check.js'
import {ReadAhead} from '../util/read-ahead.js'
import type {FileEntry, StateRoot} from '../format/manifest.js'
import type {SecondarySink} from './secondary-sink.js'

const READ_SIZE = 1 << 20
const SMALL_FILE = 256 << 10
const READ_AHEAD_FILES = 64
const READ_AHEAD_BYTES = 16 << 20

/** What a scan of the captured state found. */
export interface ScannedState {
  taskId: string
  sourceDir: string
  entries: FileEntry[]
  stamps: ConstructorParameters<typeof ChangeCheck>[2]
  startedMs: number
  root: StateRoot
  /** Bytes of all files. */
  total: number
}

export class TaskArchive {
  /** Bytes of the archive so far. */
  size = 0
  readonly hash = createHash('sha256')
  /** Set when reading the state failed (not when the store gave up the body). */
  captureError: unknown
  private readonly changes: ChangeCheck
  private readonly smallReads: ReadAhead<Buffer>

  constructor(
    private readonly state: ScannedState,
    private readonly sink: SecondarySink,
    private readonly progress?: ArchiveProgress,
  ) {
    this.changes = new ChangeCheck(state.taskId, state.entries, state.stamps, state.startedMs, (entry) => this.sourcePath(entry))
    this.smallReads = new ReadAhead(
      state.entries.flatMap((e, i) => (isSmall(e) ? [i] : [])),
      (i) => this.readWhole(i),
      (i) => state.entries[i].size,
      {files: READ_AHEAD_FILES, bytes: READ_AHEAD_BYTES},
    )
  }

  /** The tar, hashed as it goes. An error thrown in at a yield is the store giving up the body (an abort), not a capture failure. */
  async *stream(): AsyncGenerator<Buffer> {
    let yielding = false
    try {
      for await (const chunk of this.blocks()) {
        this.hash.update(chunk)
        yielding = true
        yield chunk
        yielding = false
      }
    } catch (error) {
      if (!yielding) this.captureError = error
      throw error
    }
  }

  private async *blocks(): AsyncGenerator<Buffer> {
    for (const [i, entry] of this.state.entries.entries()) {
      const head = tarHeader(entry)
      await this.sink.add(entry)
      if (isSmall(entry)) {
        yield await this.smallFile(entry, head, await this.smallReads.take(i))
        continue
      }
      yield this.count(head)
      if (entry.type !== 'file') continue
      entry.offset = this.size
      yield* this.fileBytes(entry, i)
      this.size += entry.size
      const pad = padding(entry.size)
      if (pad > 0) yield this.count(Buffer.alloc(pad))
    }
    await this.sink.settle()
    await this.changes.recheck()
    yield this.count(TAR_END)
  }

  private count(block: Buffer): Buffer {
    this.size += block.length
    return block
  }

  private sourcePath(entry: FileEntry): string {
    return path.join(this.state.sourceDir, ...entry.path.split('/'))
  }

  /** Reads a small file whole, then checks on the open handle that it did not change meanwhile. */
  private async readWhole(i: number): Promise<Buffer> {
    const handle = await fs.open(this.sourcePath(this.state.entries[i]), 'r')
    try {
      const data = await handle.readFile()
      this.changes.check(i, data.length, await handle.stat())
      return data
    } finally {
      await handle.close()
    }
  }

  private async smallFile(entry: FileEntry, head: Buffer, data: Buffer): Promise<Buffer> {
    entry.sha256 = createHash('sha256').update(data).digest('hex')
    entry.offset = this.size + head.length
    this.progress?.mark(entry.offset + entry.size, data.length, 1)
    await this.sink.writeSmall(entry, data)
    return this.count(Buffer.concat([head, data, Buffer.alloc(padding(entry.size))]))
  }

  private async *fileBytes(entry: FileEntry, i: number): AsyncGenerator<Buffer> {
    const source = await fs.open(this.sourcePath(entry), 'r')
    const copy = await this.sink.openBig(entry)
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
        this.progress?.mark(entry.offset! + read, chunk.length)
        await copy?.write(chunk, read - bytesRead)
        yield chunk
      }
      entry.sha256 = hash.digest('hex')
      this.changes.check(i, read, await source.stat())
      this.progress?.mark(entry.offset! + read, 0, 1)
      await copy?.close()
    } finally {
      await source.close()
      await copy?.discard()
    }
  }
}

function isSmall(entry: FileEntry): boolean {
  return entry.type === 'file' && entry.size <= SMALL_FILE
}
