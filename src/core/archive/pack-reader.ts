// Reads format-2 blobs out of packs by range: blobs wanted one after another in the same pack are
// fetched in one read of at most MAX_RANGE bytes, a few reads ahead of the consumer, and every blob
// is checked against its id before it is given out. The store is injected (archive reads no store).
import {PrimaryDigestError} from '../errors.js'
import {digestHex, type DigestAlgorithm} from '../util/digest.js'

/** Holes between wanted blobs up to this size are read through rather than asked for apart. */
export const MAX_GAP = 256 << 10
/** The largest range asked for at once, and so held in memory per read in flight: 8 MiB ranges peaked at 251 MiB RSS in a remote restore of 100,000 files, 4 MiB ones at 227. */
export const MAX_RANGE = 4 << 20

/** One blob wanted: where it lies, its id, and what the caller needs to place it. */
export interface BlobNeed<T> {
  packId: string
  offset: number
  length: number
  blobId: string
  tag: T
}

/** The bytes [offset, offset + length) of a pack, as a stream of buffers. */
export type RangeReader = (packId: string, offset: number, length: number) => Promise<AsyncIterable<Buffer>>

export interface BlobRange<T> {
  packId: string
  start: number
  end: number
  needs: Array<BlobNeed<T>>
}

/** Groups needs, in their order, into ranges: a need joins the open range when it is in the same pack, at or after its start, within MAX_GAP of its end. */
export function planRanges<T>(needs: ReadonlyArray<BlobNeed<T>>, maxGap = MAX_GAP, maxRange = MAX_RANGE): Array<BlobRange<T>> {
  const ranges: Array<BlobRange<T>> = []
  let open: BlobRange<T> | undefined
  for (const need of needs) {
    const end = need.offset + need.length
    const joins = open && open.packId === need.packId && need.offset >= open.start && need.offset <= open.end + maxGap && Math.max(open.end, end) - open.start <= maxRange
    if (!joins) {
      open = {packId: need.packId, start: need.offset, end, needs: []}
      ranges.push(open)
    }
    open!.end = Math.max(open!.end, end)
    open!.needs.push(need)
  }
  return ranges
}

export interface ReadBlobsOptions {
  read: RangeReader
  digest: DigestAlgorithm
  /** Ranges read ahead of the consumer. */
  concurrency: number
  /** Names the checkpoint and task in errors. */
  where: string
}

/** Throws unless `data` is the blob `blobId`. */
export function checkBlob(data: Buffer, blobId: string, digest: DigestAlgorithm, what: string): void {
  if (digestHex(data, digest) !== blobId) throw new PrimaryDigestError(`${what}: blob ${blobId} does not match its digest`)
}

/** A blob's verified bytes; `last` marks the last blob of its range. */
export interface ReadBlob<T> {
  need: BlobNeed<T>
  data: Buffer
  last: boolean
}

/**
 * Yields every need's verified bytes in the needs' order. Up to `concurrency` ranges are in flight;
 * when the consumer stops or a read fails, the reads in flight are waited for before this returns.
 * A blob's bytes are valid until the consumer asks for the blob after one marked `last`: range
 * buffers are reused, so memory stays at (concurrency + 1) ranges whatever the collector does.
 */
export async function* readBlobs<T>(needs: ReadonlyArray<BlobNeed<T>>, options: ReadBlobsOptions): AsyncGenerator<ReadBlob<T>> {
  const ranges = planRanges(needs)
  const pool = new BufferPool()
  const inFlight: Array<Promise<Buffer>> = []
  let next = 0
  const fill = () => {
    while (next < ranges.length && inFlight.length < Math.max(1, options.concurrency)) {
      const read = readRange(ranges[next++], pool, options)
      // Handled when its turn comes; this keeps a failure ahead of the consumer from going unhandled.
      read.catch(() => {})
      inFlight.push(read)
    }
  }
  try {
    for (const range of ranges) {
      fill()
      const bytes = await inFlight.shift()!
      for (const [i, need] of range.needs.entries()) {
        const data = bytes.subarray(need.offset - range.start, need.offset - range.start + need.length)
        checkBlob(data, need.blobId, options.digest, `${options.where}: pack ${need.packId}`)
        yield {need, data, last: i === range.needs.length - 1}
      }
      pool.give(bytes)
    }
  } finally {
    await Promise.allSettled(inFlight)
  }
}

/** Range buffers for reuse: freed ones wait here instead of for the garbage collector (MAX_RANGE each). */
class BufferPool {
  private readonly free: Buffer[] = []

  take(length: number): Buffer {
    const at = this.free.findIndex((b) => b.buffer.byteLength >= length)
    const buffer = at >= 0 ? this.free.splice(at, 1)[0] : Buffer.allocUnsafeSlow(Math.max(length, MAX_RANGE))
    return Buffer.from(buffer.buffer, 0, length)
  }

  give(view: Buffer): void {
    this.free.push(Buffer.from(view.buffer, 0, view.buffer.byteLength))
  }
}

async function readRange<T>(range: BlobRange<T>, pool: BufferPool, options: ReadBlobsOptions): Promise<Buffer> {
  const length = range.end - range.start
  const into = pool.take(length)
  let filled = 0
  for await (const chunk of await options.read(range.packId, range.start, length)) {
    const room = Math.min(chunk.length, length - filled)
    chunk.copy(into, filled, 0, room)
    filled += room
    if (filled === length) break
  }
  if (filled < length) throw new PrimaryDigestError(`${options.where}: pack ${range.packId} ends at ${range.start + filled} bytes, before the blobs its index places up to ${range.end}`)
  return into
}
