// Fills staged format-2 files with the blobs this node's disk could not give: range reads of the
// primary's packs in pack order (adjacent blobs of a pack in one read of at most 4 MiB), each blob
// checked by its digest before it is written at its place; a file gets its metadata once whole.
import * as fs from 'node:fs/promises'
import type {JobContext} from '../context.js'
import type {EntryV2} from '../format/index2.js'
import {keys} from '../format/keys.js'
import {readBlobs, type BlobNeed, type RangeReader} from '../archive/pack-reader.js'
import {DEFAULT_CONCURRENCY, type PrimaryStore} from '../stores/store.js'
import {Limiter} from '../util/pool.js'
import {dataRunsOf} from '../util/sparse.js'
import type {PhaseProgress} from '../progress.js'
import {blobStarts, writeAll, type Pending} from './disk-sources.js'
import {finishFileV2} from './in-place.js'
import {checkPacks, type SourceBytes, type TaskWorkV2} from './plan2.js'
import {targetPath} from './verified-copy.js'

interface Place {
  entry: EntryV2
  position: number
  /** The staged file is all holes: zero blocks are left unwritten, so a sparse file stays sparse. */
  fresh: boolean
  /** Pack ordinal, for sorting. */
  pack: number
}

/** The primary's packs as a range reader. */
export function packReader(primary: PrimaryStore, job: string): RangeReader {
  return async (packId, offset, length) => (await primary.get(keys.pack(job, packId), {range: {offset, length}})) as AsyncIterable<Buffer>
}

export async function fetchMissing(ctx: JobContext, work: TaskWorkV2, stagingDir: string, pending: Pending[], bytes: SourceBytes, checkpointId: string, progress?: PhaseProgress): Promise<void> {
  const needs: Array<BlobNeed<Place>> = []
  const remaining = new Map<EntryV2, number>()
  for (const {entry, missing, fresh} of pending) {
    const starts = blobStarts(entry)
    remaining.set(entry, missing.length)
    for (const i of missing) {
      const [pack, offset, length, blobId] = entry.blobs![i]
      needs.push({packId: work.index.packs[pack].id, offset, length, blobId, tag: {entry, position: starts[i], pack, fresh: fresh ?? false}})
    }
  }
  needs.sort((a, b) => a.tag.pack - b.tag.pack || a.offset - b.offset)
  await checkPacks(ctx, work, [...new Set(needs.map((n) => n.tag.pack))], checkpointId)
  const where = `checkpoint ${checkpointId} task ${work.task.id}`
  const concurrency = ctx.settings.transfer.concurrency ?? DEFAULT_CONCURRENCY
  // Writes run alongside the reads, a few at a time; each holds its blob, a view of a range buffer that the reader reuses.
  const writes = new Limiter(WRITES)
  const blobs = readBlobs(needs, {read: packReader(ctx.primary, ctx.job.name), digest: work.index.digest, concurrency, where})
  try {
    for await (const {need, data, last} of blobs) {
      const started = await writes.start(async () => {
        const {entry, position, fresh} = need.tag
        const target = targetPath(stagingDir, entry.path)
        await writeAt(target, data, position, fresh)
        bytes.remoteBytes += data.length
        progress?.advance(data.length)
        const left = remaining.get(entry)! - 1
        remaining.set(entry, left)
        if (left > 0) return
        await finishFileV2(target, entry)
        progress?.advance(0, 1)
      })
      if (!started) break
      // the range's buffer is reused once the next blob is asked for: its writes finish first
      if (last) await writes.drain()
    }
  } catch (error) {
    // the read's failure is the one reported; the writes in flight finish first
    await writes.drain().catch(() => {})
    throw error
  } finally {
    await blobs.return(undefined)
  }
  await writes.drain()
}

/** Blob writes in flight at once. */
const WRITES = 16

async function writeAt(target: string, data: Buffer, position: number, fresh: boolean): Promise<void> {
  const runs = fresh ? dataRunsOf([data], position) : undefined
  if (runs?.length === 0) return
  const handle = await fs.open(target, 'r+')
  try {
    for (const run of runs ?? [{data, position}]) await writeAll(handle, run.data, run.position)
  } finally {
    await handle.close()
  }
}
