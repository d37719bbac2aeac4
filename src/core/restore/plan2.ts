// Format 2's restore plan: per task, which bytes stay in place, which come from the local copy and
// which from the primary. The plan (--plan) guesses in-place bytes from sizes and times without
// hashing; a restore counts what the blob digests proved.
import type {TaskSpec} from '../config/job-file.js'
import type {JobContext} from '../context.js'
import type {EntryV2, TaskIndexV2} from '../format/index2.js'
import type {ManifestV2, StateRoot, TaskRecordV2} from '../format/manifest.js'
import {keys} from '../format/keys.js'
import type {LocalCopy} from '../local/copy-record.js'
import {NotFoundError, PrimaryDigestError} from '../errors.js'
import {copyIndexMatches} from '../local/copy-index.js'
import {mapLimit} from '../util/pool.js'
import {lstatOrUndefined} from '../util/remove-tree.js'
import {sameSizeFile, sameTime} from './in-place.js'
import type {Source, TaskPlan} from './plan.js'
import {targetPath} from './verified-copy.js'

export interface TaskWorkV2 {
  format: 2
  task: TaskSpec
  record: TaskRecordV2
  index: TaskIndexV2
  entries: EntryV2[]
  root?: StateRoot
  /** This node's copy of the task for the checkpoint, when its index.json is the manifest's. */
  copy?: LocalCopy
  /** Why no local copy is used, when none is. */
  noLocalReason?: string
  /** The stateDir's files may be kept (not under --prefer remote). */
  inPlace: boolean
}

/** Bytes counted by where they came from. */
export interface SourceBytes {
  inPlaceBytes: number
  localBytes: number
  remoteBytes: number
}

/** This node's copy of the task for the checkpoint, trusted only when its index.json has the manifest's size and SHA-256. */
export async function findLocalV2(ctx: JobContext, taskId: string, manifest: ManifestV2, record: TaskRecordV2, preferRemote: boolean): Promise<{copy?: LocalCopy; reason?: string}> {
  if (preferRemote) return {reason: 'remote preferred: the stateDir and secondary copies are not used'}
  const copy = await ctx.secondary.retrieve(taskId, manifest.checkpointId)
  if (!copy) return {reason: `no secondary copy of ${manifest.checkpointId} on node ${ctx.node}`}
  if (!(await copyIndexMatches(ctx.secondary.layout, copy, record))) {
    return {reason: `secondary copy in ${copy.root}: its index.json is missing or not the index of ${manifest.checkpointId}`}
  }
  return {copy}
}

export function sourceOf(bytes: SourceBytes, hadLocal: boolean): Source {
  const near = bytes.inPlaceBytes + bytes.localBytes
  if (bytes.remoteBytes === 0) return near > 0 || hadLocal ? 'local' : 'remote'
  return near === 0 ? 'remote' : 'mixed'
}

/** The plan of one task without hashing: a stateDir file of the same size and time is expected to stay in place. */
export async function planTaskV2(ctx: JobContext, work: TaskWorkV2, stateDir: string, checkpointId: string): Promise<TaskPlan> {
  const bytes: SourceBytes = {inPlaceBytes: 0, localBytes: 0, remoteBytes: 0}
  const remote = new Set<number>()
  const files = work.entries.filter((e) => e.type === 'file' && e.size > 0)
  await mapLimit(files, 16, async (entry) => {
    const here = work.inPlace ? await sameSizeFile(targetPath(stateDir, entry.path), entry) : undefined
    if (here && sameTime(here, entry)) bytes.inPlaceBytes += entry.size
    else if (work.copy && (await sameSizeFile(targetPath(work.copy.stateDir, entry.path), entry))) bytes.localBytes += entry.size
    else {
      bytes.remoteBytes += entry.size
      for (const ref of entry.blobs ?? []) remote.add(ref[0])
    }
  })
  await checkPacks(ctx, work, [...remote], checkpointId)
  const parts = [
    work.inPlace ? `${bytes.inPlaceBytes} bytes expected in place (same size and time; not hashed until the restore)` : undefined,
    work.copy ? `secondary copy in ${work.copy.root}` : work.noLocalReason,
    bytes.remoteBytes > 0 ? `${remote.size} pack${remote.size === 1 ? '' : 's'} of the primary` : undefined,
  ]
  const hadLocal = work.copy !== undefined || (await lstatOrUndefined(stateDir)) !== undefined
  return {taskId: work.task.id, checkpointId, source: sourceOf(bytes, hadLocal), ...bytes, reason: parts.filter(Boolean).join('; ')}
}

/** Each pack (by ordinal) must be in the primary with the size the index records. */
export async function checkPacks(ctx: JobContext, work: TaskWorkV2, ordinals: number[], checkpointId: string): Promise<void> {
  await mapLimit(ordinals, 8, async (ordinal) => {
    const pack = work.index.packs[ordinal]
    const key = keys.pack(ctx.job.name, pack.id)
    const info = await ctx.primary.stat(key)
    if (!info) throw new NotFoundError(key)
    if (info.size !== pack.size) throw new PrimaryDigestError(`checkpoint ${checkpointId} task ${work.task.id}: pack ${key} is ${info.size} bytes, the index says ${pack.size}`)
  })
}
