// The base of a format-2 take: the newest completed format-2 checkpoint of the same digest and
// chunk size. Its task indexes say which files are unchanged (by their stamps) and which blobs a
// take may reference without storing them again. Nothing else is reusable: not an attempt that
// never completed (Flink's FLINK-25395), not an older checkpoint, not a pack found by listing.
import {createReadStream} from 'node:fs'
import {completedIds} from '../catalogue/catalogue.js'
import {mapLimit} from '../util/pool.js'
import {readIndexV2, readManifest} from '../catalogue/read.js'
import type {JobContext} from '../context.js'
import {ManifestError, NewerFormatError, StoreUnavailableError} from '../errors.js'
import type {CheckpointId} from '../format/ids.js'
import {checkIndexV2, type EntryV2, type TaskIndexV2} from '../format/index2.js'
import {IndexParser} from '../format/index-stream.js'
import {isManifestV2, type ManifestV2, type TaskRecordV2} from '../format/manifest.js'
import {createHash} from '../util/crypto.js'
import type {PackBuilder, PackHandle} from '../archive/pack-builder.js'
import type {DigestAlgorithm} from '../util/digest.js'

export interface BaseTask {
  index: TaskIndexV2
  /** The state folder of this node's confirmed copy of the base, when its index matches: unchanged files are linked from it. */
  localState?: string
}

export interface Base {
  id: CheckpointId
  manifest: ManifestV2
  tasks: Map<string, BaseTask>
}

/** Completed checkpoints looked at, newest first, for a readable format-2 base. */
const CANDIDATES = 5

/** taskIds: the tasks this take writes (many nodes: a participant's); only their records are read. */
export async function chooseBase(ctx: JobContext, digest: DigestAlgorithm, chunkSize: number, onWarning?: (message: string) => void, taskIds?: string[]): Promise<Base | undefined> {
  const wanted = taskIds ? new Set(taskIds) : undefined
  for (const id of (await completedIds(ctx.primary, ctx.job.name)).slice(0, CANDIDATES)) {
    try {
      const manifest = await readManifest(ctx.primary, ctx.job.name, id)
      if (!isManifestV2(manifest)) continue
      if (manifest.digest !== digest || manifest.chunkSize !== chunkSize) return undefined
      const records = manifest.tasks.filter((r) => !wanted || wanted.has(r.taskId))
      const loaded = await mapLimit(records, 4, (record) => baseTask(ctx, manifest, record))
      return {id, manifest, tasks: new Map(records.map((r, i) => [r.taskId, loaded[i]]))}
    } catch (error) {
      if (error instanceof StoreUnavailableError || error instanceof NewerFormatError) throw error
      // an unreadable checkpoint cannot be a base: the next older one may
      onWarning?.(`checkpoint ${id} cannot serve as the base of this take (${(error as Error).message}); trying an older one`)
    }
  }
  return undefined
}

/** A task's index from this node's confirmed copy when it is byte for byte the primary's, else from the primary. */
async function baseTask(ctx: JobContext, manifest: ManifestV2, record: TaskRecordV2): Promise<BaseTask> {
  const copy = await ctx.secondary.retrieve(record.taskId, manifest.checkpointId)
  if (copy?.status === 'confirmed' && copy.indexSha256 === record.indexSha256) {
    const doc = await readLocalIndex(ctx.secondary.layout.indexFile(copy.dir), record)
    if (doc) {
      try {
        return {index: checkIndexV2(doc as TaskIndexV2, record.taskId, `checkpoint ${manifest.checkpointId}`), localState: copy.stateDir}
      } catch (error) {
        if (!(error instanceof ManifestError)) throw error
        // a local index that does not check out is read from the primary instead
      }
    }
  }
  return {index: await readIndexV2(ctx.primary, manifest, record)}
}

/** A copy's index.json, parsed as it streams in (never whole: 27 MB at 100,000 files), when its size and SHA-256 are the record's. */
async function readLocalIndex(file: string, record: TaskRecordV2): Promise<unknown> {
  const parser = new IndexParser()
  const hash = createHash('sha256')
  let size = 0
  try {
    for await (const chunk of createReadStream(file, {highWaterMark: 64 << 10})) {
      size += (chunk as Buffer).length
      hash.update(chunk as Buffer)
      parser.push(chunk as Buffer)
    }
  } catch {
    return undefined // an unreadable local index: the primary's serves
  }
  if (size !== record.indexSize || hash.digest('hex') !== record.indexSha256) return undefined
  return parser.end()
}

/** A pack whose blobs the base uses for less than this share of its bytes is rewritten (its live content stored again). */
const SPARSE = 0.5
/** Live bytes of sparse packs a take stores again at most: compaction goes a little at a time, and a paused capture copies those files too. */
export const REPACK_PER_TAKE = 64 << 20

export interface Learned {
  /** Each task's base records by path: the files a take may find unchanged. */
  entries: Map<string, Map<string, EntryV2>>
  /** Packs whose live content this take stores again, and the bytes of it. */
  repacked: Set<string>
  repackBytes: number
  /** Packs the base names that the primary lacks (or holds at another size): never referenced again. */
  missing: Set<string>
}

/**
 * Makes every blob the base names known to the builder, except those of packs that are missing
 * from the primary (`present`: its listing of packs) and those of packs that are mostly garbage:
 * compaction happens here. The files whose content lies in such a pack count as changed,
 * so their content is read and stored again in new packs, and once no kept checkpoint names the
 * old pack, prune deletes it under its usual rules (grace period, open claims).
 */
export function learnBase(base: Base | undefined, builder: PackBuilder, present?: ReadonlyMap<string, {size: number}>): Learned {
  const learned: Learned = {entries: new Map(), repacked: new Set(), repackBytes: 0, missing: new Set()}
  if (!base) return learned
  const live = new Map<string, {size: number; bytes: number; blobs: Set<string>}>()
  for (const {index} of base.tasks.values()) {
    for (const entry of index.entries) {
      for (const [ordinal, , length, blobId] of entry.blobs ?? []) {
        const pack = index.packs[ordinal]
        const use = live.get(pack.id) ?? live.set(pack.id, {size: pack.size, bytes: 0, blobs: new Set()}).get(pack.id)!
        if (!use.blobs.has(blobId)) {
          use.blobs.add(blobId)
          use.bytes += length
        }
      }
    }
  }
  // A pack that is gone or cut short serves no later checkpoint: its files are read and stored again.
  for (const [id, use] of live) if (present && present.get(id)?.size !== use.size) learned.missing.add(id)
  for (const [id, use] of [...live].filter(([id, u]) => !learned.missing.has(id) && u.bytes < u.size * SPARSE).sort((a, b) => a[1].bytes - b[1].bytes)) {
    if (learned.repackBytes + use.bytes > REPACK_PER_TAKE) break
    learned.repacked.add(id)
    learned.repackBytes += use.bytes
  }
  const handles = new Map<string, PackHandle>()
  for (const {index} of base.tasks.values()) {
    const packs = index.packs.map((p) => handles.get(p.id) ?? handles.set(p.id, {id: p.id, size: p.size}).get(p.id)!)
    for (const entry of index.entries) {
      for (const [ordinal, offset, length, blobId] of entry.blobs ?? []) {
        if (!learned.repacked.has(packs[ordinal].id!) && !learned.missing.has(packs[ordinal].id!) && !builder.known.has(blobId)) builder.known.set(blobId, {pack: packs[ordinal], offset, length})
      }
    }
  }
  for (const [taskId, {index}] of base.tasks) {
    const entries = new Map<string, EntryV2>()
    for (const entry of index.entries) {
      // A file with content only in a repacked pack is read again, as if it had changed.
      if ((entry.blobs ?? []).every((ref) => builder.known.has(ref[3]))) entries.set(entry.path, entry)
    }
    learned.entries.set(taskId, entries)
  }
  return learned
}
