// Streaming transfers: uploads cut the body into blocks and stage up to `concurrency` of them at
// once (memory near blockSize x (concurrency + 1) whatever the object size); a download is one
// stream, resumed from the last byte received when it breaks or stalls.
import type {Readable} from 'node:stream'
import {CkptError, TransientStoreError} from '../errors.js'
import {mapLimit} from '../util/pool.js'

/** Cuts a stream into blocks of exactly `size` bytes (the last one may be shorter, never empty). */
export async function* blocksOf(source: AsyncIterable<Buffer | string>, size: number): AsyncIterable<Buffer> {
  let parts: Buffer[] = []
  let held = 0
  for await (const raw of source) {
    let chunk = typeof raw === 'string' ? Buffer.from(raw) : raw
    while (chunk.length > 0) {
      const take = Math.min(size - held, chunk.length)
      parts.push(chunk.subarray(0, take))
      held += take
      chunk = chunk.subarray(take)
      if (held === size) {
        // Copy, so that a block never pins the caller's (possibly larger) chunk in memory.
        yield Buffer.concat(parts, held)
        parts = []
        held = 0
      }
    }
  }
  if (held > 0) yield Buffer.concat(parts, held)
}

export interface BlockUpload {
  blockSize: number
  concurrency: number
  /** Stages block number `index` (0-based); resolves when the block is durable. */
  stage(index: number, block: Buffer): Promise<void>
  onProgress?: (bytes: number) => void
}

/**
 * Stages every block of the body, at most `concurrency` at a time; returns the number of blocks,
 * or the single block itself when the whole body fits in one (the caller may upload it at once).
 * `concurrency` workers of mapLimit take the blocks in order from the one source.
 */
export async function stageBlocks(body: AsyncIterable<Buffer | string>, upload: BlockUpload): Promise<{blocks: number; small?: Buffer}> {
  const blocks = blocksOf(body, upload.blockSize)[Symbol.asyncIterator]()
  const first = await blocks.next()
  if (first.done) return {blocks: 0, small: Buffer.alloc(0)}
  if (first.value.length < upload.blockSize) return {blocks: 1, small: first.value}
  let waiting: IteratorResult<Buffer> | undefined = first
  let index = 0
  let sent = 0
  let failure: {error: unknown} | undefined
  // The async generator answers next() calls in the order they were made, so blocks keep their numbers.
  const take = async () => {
    const item = waiting ?? (await blocks.next())
    waiting = undefined
    return item.done ? undefined : {block: item.value, at: index++}
  }
  const worker = async () => {
    try {
      for (let next = await take(); next && !failure; next = failure ? undefined : await take()) {
        await upload.stage(next.at, next.block)
        upload.onProgress?.((sent += next.block.length))
      }
    } catch (error) {
      failure ??= {error}
    }
  }
  // Each worker keeps its failure, so every stage in flight has ended before this returns.
  await mapLimit(
    Array.from({length: upload.concurrency}, (_, i) => i),
    upload.concurrency,
    worker,
  )
  if (failure) await blocks.return?.(undefined).catch(() => {}) // the source's own error is already in failure
  if (failure) throw failure.error
  return {blocks: index}
}

export interface StreamedRange {
  start: number
  /** Exclusive; an answer may make it smaller (the object ends sooner). */
  end: number
  /** Opens a response body for [at, end), and says where the object ends if it ends sooner. */
  open(at: number, end: number): Promise<{body: Readable; end?: number}>
  /** A body that sends nothing for this long while it is waited on fails, and is resumed. */
  stallMs: number
  /** A failure while a body was read, as a store error without secrets. */
  failure(error: unknown, at: number): Error
  /** Aborted when the store closes: bodies being read are destroyed. */
  closing: AbortSignal
  onProgress?: (bytes: number) => void
}

/** Times a broken or stalled body is resumed from the last byte received before the read fails. */
const RESUMES = 3

/**
 * Streams one range as its chunks arrive (they die young, so memory and garbage collection stay
 * low). A body that breaks or stalls is resumed from the last byte received; resuming cannot mix
 * versions because open() pins the read to the object's ETag.
 */
export async function* streamRange(range: StreamedRange): AsyncGenerator<Buffer> {
  let at = range.start
  let end = range.end
  let resumes = 0
  while (at < end) {
    if (range.closing.aborted) throw range.failure(new Error('the store is closed'), at)
    const opened = await range.open(at, end)
    const body = opened.body
    end = Math.min(end, opened.end ?? end)
    const destroy = () => body.destroy()
    range.closing.addEventListener('abort', destroy)
    const iterator = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>
    try {
      for (;;) {
        // Only time spent waiting on the network counts: the consumer may hold a chunk for long.
        const timer = setTimeout(() => body.destroy(new Error(`no data for ${Math.round(range.stallMs / 1000)}s (timed out)`)), range.stallMs)
        let next: IteratorResult<Buffer>
        try {
          next = await iterator.next()
        } finally {
          clearTimeout(timer)
        }
        if (next.done) break
        const chunk = next.value
        if (at + chunk.length > end) throw new TransientStoreError(`long read: more than ${end - range.start} bytes at ${range.start}`)
        at += chunk.length
        range.onProgress?.(at - range.start)
        yield chunk
      }
      if (at < end && ++resumes > RESUMES) throw range.failure(new Error(`short read: ${at - range.start} of ${end - range.start} bytes`), at)
    } catch (error) {
      if (range.closing.aborted || error instanceof TransientStoreError || ++resumes > RESUMES) throw error instanceof CkptError ? error : range.failure(error, at)
    } finally {
      range.closing.removeEventListener('abort', destroy)
      body.destroy()
    }
  }
}
