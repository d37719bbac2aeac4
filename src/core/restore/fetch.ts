// Restores files from a task's primary archive. Empty files are created once their digest is that
// of no bytes; the other wanted files' bytes are grouped into segments (segmentSizeFor; small
// files share one, big files span several), segments are fetched `concurrency` at a time, and each chunk is written at its own position in its file, so segments
// need no order. Once a file has all its bytes it is checked against the manifest: hashed as it
// is written when it came in one piece of at most INLINE_HASH bytes, else read back and hashed
// on a worker thread. Memory: up to WRITE_SIZE and the stream's buffer per segment in flight,
// whatever the segment's or the state's size.
import * as fs from 'node:fs/promises'
import {sha256, type FileEntry} from '../format/manifest.js'
import {PrimaryDigestError} from '../errors.js'
import type {PrimaryStore} from '../stores/store.js'
import {Limiter, mapLimit} from '../util/pool.js'
import {dataRunsOf} from '../util/sparse.js'
import {INLINE_HASH, digestOf, finishFile} from './verified-copy.js'

/** Bytes of a file that lie in one segment: file bytes [fileOffset, fileOffset + length). */
export interface Piece {
  entry: FileEntry
  fileOffset: number
  length: number
}

/** A range of the archive: [start, end), holding pieces in archive order. */
export interface Segment {
  start: number
  end: number
  pieces: Piece[]
}

/**
 * Bytes of one file gathered from the network before they are written: few enough that they are
 * still in the CPU's cache when the kernel copies them. With 1 MiB the kernel's copy into the page
 * cache cost several times the CPU (perf: 0.5-1.0 s against 0.1-0.2 s per 512 MiB in most runs),
 * and a restore from Azurite used about 6% more CPU in all.
 */
const WRITE_SIZE = 256 << 10

/** The largest segment: one request per 64 MiB keeps the fixed cost of requests small. */
export const MAX_SEGMENT = 64 << 20

/**
 * Segment size for `span` bytes of the archive fetched `concurrency` at a time: the span split
 * evenly over the streams, at least one block and at most MAX_SEGMENT. Every request has a fixed
 * cost, which a server on the same machine (Azurite) pays in CPU: with 2 MiB segments Azurite
 * spent about 4 times the CPU it spends with 64 MiB ones.
 */
export function segmentSizeFor(span: number, blockSize: number, concurrency: number): number {
  return Math.max(blockSize, Math.min(MAX_SEGMENT, Math.ceil(span / Math.max(1, concurrency))))
}

/**
 * Stream chunks asked for a segment of small files. A chunk lives until its last file is written
 * and hashed; a 1 MiB one holds hundreds of files, outlives two young-generation collections, and
 * once promoted is freed only by a full collection, which V8 starts after 64 MB of such garbage
 * (a remote restore of 200,000 1 KiB files peaked 43 MiB higher with 1 MiB chunks).
 */
export const SMALL_FILE_CHUNK = 64 << 10

/** The chunk size to ask for a segment: small when its pieces average at most SMALL_FILE_CHUNK, else the store's own. */
export function chunkSizeFor(segment: Segment): number | undefined {
  return segment.end - segment.start <= SMALL_FILE_CHUNK * segment.pieces.length ? SMALL_FILE_CHUNK : undefined
}

/** Gaps up to this size (tar headers, padding, files not wanted) are read through, not skipped. */
const MAX_GAP = 64 << 10

/** Cuts files (non-empty, sorted by archive offset) into segments of at most `size` bytes. */
export function planSegments(files: readonly FileEntry[], size: number): Segment[] {
  const segments: Segment[] = []
  let current: Segment | undefined
  for (const entry of files) {
    let fileOffset = 0
    while (fileOffset < entry.size) {
      const at = entry.offset! + fileOffset
      if (!current || at - current.end > MAX_GAP || at - current.start >= size) {
        current = {start: at, end: at, pieces: []}
        segments.push(current)
      }
      const length = Math.min(entry.size - fileOffset, size - (at - current.start))
      current.pieces.push({entry, fileOffset, length})
      current.end = at + length
      fileOffset += length
    }
  }
  return segments
}

export interface FetchFiles {
  primary: PrimaryStore
  archive: string
  /** Files to fetch, in any order; empty ones are only created. */
  files: readonly FileEntry[]
  targetOf: (entry: FileEntry) => string
  where: string
  /** The transfer block size: the smallest segment (segmentSizeFor). */
  blockSize: number
  concurrency: number
  onBytes?: (bytes: number) => void
  /** A file has all its bytes (progress, issue 15). */
  onFile?: (entry: FileEntry) => void
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

interface OpenFile {
  handle: Promise<fs.FileHandle>
  remaining: number
  /** Zero blocks were left unwritten: the size is set once every byte is in. */
  holes?: boolean
}

/** Fetches every file; on failure no handle stays open and the caller removes what was written. */
export async function fetchFiles(fetch: FetchFiles): Promise<void> {
  await createEmptyFiles(fetch)
  const files = fetch.files.filter((e) => e.size > 0).sort((a, b) => a.offset! - b.offset!)
  if (files.length === 0) return
  const span = files.at(-1)!.offset! + files.at(-1)!.size - files[0].offset!
  const segments = planSegments(files, segmentSizeFor(span, fetch.blockSize, fetch.concurrency))
  const open = new OpenFiles(fetch)
  const fetched = await mapLimit(segments, fetch.concurrency, (segment) => fetchSegment(fetch, segment, open)).then(
    () => undefined,
    (error: unknown) => ({error}),
  )
  // A file that failed its digest first: it means this checkpoint cannot serve (an older one may),
  // even when another segment then failed for another reason.
  await open.close()
  if (fetched) throw fetched.error
}

async function createEmptyFiles(fetch: FetchFiles): Promise<void> {
  for (const entry of fetch.files.filter((e) => e.size === 0)) {
    if (entry.sha256 !== EMPTY_SHA256) throw new PrimaryDigestError(`${fetch.where}: ${entry.path} is empty but its digest is not that of no bytes`)
    const target = fetch.targetOf(entry)
    await (await fs.open(target, 'w', 0o600)).close()
    await finishFile(target, entry)
    fetch.onFile?.(entry)
  }
}

/** The files being written, and the checks of those written whole, which run alongside the fetch. */
class OpenFiles {
  /** A segment or a check failed: the other segments stop. */
  failed = false
  private readonly open = new Map<FileEntry, OpenFile>()
  private readonly checks = new Limiter(Infinity)

  constructor(readonly fetch: FetchFiles) {}

  fileOf(entry: FileEntry): OpenFile {
    let file = this.open.get(entry)
    if (!file) {
      file = {handle: fs.open(this.fetch.targetOf(entry), 'w', 0o600), remaining: entry.size}
      this.open.set(entry, file)
    }
    return file
  }

  /** `digest`: of the file's bytes when they came in one write (small files), else read back. */
  async written(entry: FileEntry, file: OpenFile, bytes: number, digest?: string): Promise<void> {
    file.remaining -= bytes
    if (file.remaining > 0) return
    this.open.delete(entry)
    this.fetch.onFile?.(entry)
    if (file.holes) await (await file.handle).truncate(entry.size)
    await (await file.handle).close()
    // A mismatch stops the other segments, and is reported once they stopped.
    await this.checks.start(() =>
      checkFile(this.fetch, entry, digest).catch((error: unknown) => {
        this.failed = true
        throw error
      }),
    )
  }

  /** Waits for the checks and closes what is still open; throws a check's failure. */
  async close(): Promise<void> {
    const checked = await this.checks.drain().then(
      () => undefined,
      (error: unknown) => ({error}),
    )
    await Promise.allSettled([...this.open.values()].map(async (file) => (await file.handle).close()))
    if (checked) throw checked.error
  }
}

async function fetchSegment(fetch: FetchFiles, segment: Segment, open: OpenFiles): Promise<void> {
  if (open.failed) return
  try {
    const stream = await fetch.primary.get(fetch.archive, {range: {offset: segment.start, length: segment.end - segment.start}, chunkSize: chunkSizeFor(segment)})
    const writer = new SegmentWriter(segment, open)
    try {
      for await (const chunk of stream) {
        if (open.failed) break
        await writer.feed(chunk as Buffer)
      }
    } finally {
      stream.destroy()
    }
    if (!open.failed && !writer.done) throw new PrimaryDigestError(`${fetch.where}: the primary archive ends inside ${writer.current.entry.path}`)
  } catch (error) {
    open.failed = true
    throw error
  }
}

/** Hands one segment's bytes to its pieces' files: a piece's received bytes are written together, up to WRITE_SIZE at once. */
class SegmentWriter {
  private position: number
  private index = 0
  /** Bytes of the current piece received. */
  private taken = 0
  private parts: Buffer[] = []
  private held = 0

  constructor(
    private readonly segment: Segment,
    private readonly open: OpenFiles,
  ) {
    this.position = segment.start
  }

  get done(): boolean {
    return this.index >= this.segment.pieces.length
  }

  get current(): Piece {
    return this.segment.pieces[this.index]
  }

  async feed(received: Buffer): Promise<void> {
    let chunk = received
    while (chunk.length > 0 && !this.done) {
      const piece = this.current
      const pieceStart = piece.entry.offset! + piece.fileOffset + this.taken
      if (this.position < pieceStart) {
        const skip = Math.min(pieceStart - this.position, chunk.length)
        chunk = chunk.subarray(skip)
        this.position += skip
        continue
      }
      const part = chunk.subarray(0, piece.length - this.taken)
      this.parts.push(part)
      this.held += part.length
      chunk = chunk.subarray(part.length)
      this.position += part.length
      this.taken += part.length
      if (this.taken === piece.length) {
        await this.flush(piece)
        this.index++
        this.taken = 0
      } else if (this.held >= WRITE_SIZE) await this.flush(piece)
    }
  }

  private async flush(piece: Piece): Promise<void> {
    const file = this.open.fileOf(piece.entry)
    const {parts, held: bytes} = this
    const whole = bytes === piece.entry.size && bytes <= INLINE_HASH
    const digest = whole ? sha256(parts.length === 1 ? parts[0] : Buffer.concat(parts)) : undefined
    const at = piece.fileOffset + this.taken - bytes
    // Zero blocks are left as holes (the file is new), so a sparse file stays sparse.
    const runs = dataRunsOf(parts, at)
    if (runs) {
      file.holes = true
      for (const run of runs) await writeAt(await file.handle, [run.data], run.position)
    } else await writeAt(await file.handle, parts, at)
    this.parts = []
    this.held = 0
    this.open.fetch.onBytes?.(bytes)
    await this.open.written(piece.entry, file, bytes, digest)
  }
}

/** Writes the parts one after another from `position` (one pwritev, unless the kernel writes less). */
async function writeAt(handle: fs.FileHandle, parts: Buffer[], position: number): Promise<void> {
  const total = parts.reduce((sum, part) => sum + part.length, 0)
  let done = (await handle.writev(parts, position)).bytesWritten
  if (done === total) return
  const rest = Buffer.concat(parts).subarray(done)
  while (done < total) done += (await handle.write(rest, done - (total - rest.length), total - done, position + done)).bytesWritten
}

async function checkFile(fetch: FetchFiles, entry: FileEntry, inline?: string): Promise<void> {
  const target = fetch.targetOf(entry)
  if ((inline ?? (await digestOf(target, entry.size))) !== entry.sha256) {
    throw new PrimaryDigestError(`${fetch.where}: ${entry.path} in the primary copy does not match its digest`)
  }
  await finishFile(target, entry)
}
