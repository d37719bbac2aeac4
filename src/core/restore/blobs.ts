// Fills staged format-2 files with the blobs this node's disk could not give: range reads of the
// primary's packs in pack order (adjacent blobs of a pack in one read of at most 8 MiB), each blob
// checked by its digest before it is written at its place; a file gets its metadata once whole.
import * as fs from 'node:fs/promises'
import type {JobContext} from '../context.js'
import type {EntryV2} from '../format/index2.js'
import {keys} from '../format/keys.js'
import {readBlobs, type BlobNeed, type RangeReader} from '../archive/pack-reader.js'
import {DEFAULT_CONCURRENCY, type PrimaryStore} from '../stores/store.js'
import type {PhaseProgress} from '../progress.js'
import {blobStarts, writeAll, type Pending} from './disk-sources.js'
import {finishFileV2} from './in-place.js'
import {checkPacks, type SourceBytes, type TaskWorkV2} from './plan2.js'
import {targetPath} from './verified-copy.js'

interface Place {
  entry: EntryV2
  position: number
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
  for (const {entry, missing} of pending) {
    const starts = blobStarts(entry)
    remaining.set(entry, missing.length)
    for (const i of missing) {
      const [pack, offset, length, blobId] = entry.blobs![i]
      needs.push({packId: work.index.packs[pack].id, offset, length, blobId, tag: {entry, position: starts[i], pack}})
    }
  }
  needs.sort((a, b) => a.tag.pack - b.tag.pack || a.offset - b.offset)
  await checkPacks(ctx, work, [...new Set(needs.map((n) => n.tag.pack))], checkpointId)
  const where = `checkpoint ${checkpointId} task ${work.task.id}`
  const concurrency = ctx.settings.transfer.concurrency ?? DEFAULT_CONCURRENCY
  const writer = new PlaceWriter(stagingDir)
  try {
    for await (const {need, data} of readBlobs(needs, {read: packReader(ctx.primary, ctx.job.name), digest: work.index.digest, concurrency, where})) {
      const {entry, position} = need.tag
      await writer.write(entry, data, position)
      bytes.remoteBytes += data.length
      progress?.advance(data.length)
      const left = remaining.get(entry)! - 1
      remaining.set(entry, left)
      if (left > 0) continue
      await writer.close()
      await finishFileV2(targetPath(stagingDir, entry.path), entry)
      progress?.advance(0, 1)
    }
  } finally {
    await writer.close()
  }
}

/** Writes blobs into staged files, keeping the last file open (a big file's blobs come one after another). */
class PlaceWriter {
  private open: {entry: EntryV2; handle: fs.FileHandle} | undefined

  constructor(private readonly stagingDir: string) {}

  async write(entry: EntryV2, data: Buffer, position: number): Promise<void> {
    if (this.open?.entry !== entry) {
      await this.close()
      this.open = {entry, handle: await fs.open(targetPath(this.stagingDir, entry.path), 'r+')}
    }
    await writeAll(this.open.handle, data, position)
  }

  async close(): Promise<void> {
    const open = this.open
    this.open = undefined
    await open?.handle.close()
  }
}
