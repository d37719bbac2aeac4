// The restore plan: per task, where its bytes will come from (local, mixed, remote) and why.
import type {TaskSpec} from '../config/job-file.js'
import type {JobContext} from '../context.js'
import type {FileEntry, Manifest, StateRoot, TaskRecord} from '../format/manifest.js'
import type {LocalCopy} from '../local/copy-record.js'
import {mapLimit} from '../util/pool.js'
import {hashLocalFile, targetPath} from './verified-copy.js'

export type Source = 'local' | 'mixed' | 'remote'

export interface TaskPlan {
  taskId: string
  checkpointId: string
  source: Source
  /** Bytes kept from the current stateDir (format 2; 0 in format 1). */
  inPlaceBytes: number
  localBytes: number
  remoteBytes: number
  reason: string
  /** Many nodes: the node that captured the task, when this node has no copy of it. */
  heldBy?: string
}

export interface TaskWork {
  task: TaskSpec
  record: TaskRecord
  entries: FileEntry[]
  /** The state folder's own metadata, when the checkpoint recorded it. */
  root?: StateRoot
  copy?: LocalCopy
  /** Why no local copy is used, when none is. */
  noLocalReason?: string
}

export function totalBytes(entries: FileEntry[]): number {
  return entries.reduce((sum, e) => sum + (e.type === 'file' ? e.size : 0), 0)
}

/** Finds this node's secondary copy of a task for the checkpoint, unless remote is preferred. */
export async function findLocal(ctx: JobContext, taskId: string, manifest: Manifest, preferRemote: boolean): Promise<{copy?: LocalCopy; reason?: string}> {
  if (preferRemote) return {reason: 'remote preferred: secondary copies not used'}
  const copy = await ctx.secondary.retrieve(taskId, manifest.checkpointId)
  if (!copy) return {reason: `no secondary copy of ${manifest.checkpointId} on node ${ctx.node}`}
  return {copy}
}

/** Hashes the local copy's files against the manifest (used by --plan, which changes nothing). */
export async function planTask(work: TaskWork, checkpointId: string): Promise<TaskPlan> {
  const files = work.entries.filter((e) => e.type === 'file')
  if (!work.copy) return remotePlan(work, checkpointId)
  const copy = work.copy
  const good = await mapLimit(files, 8, async (entry) => (await hashLocalFile(targetPath(copy.stateDir, entry.path), entry.size)) === entry.sha256)
  return describe(work.task.id, checkpointId, files, good, copy)
}

/** The plan of a task that has no local copy to use: every byte from the primary. */
export function remotePlan(work: TaskWork, checkpointId: string): TaskPlan {
  return {taskId: work.task.id, checkpointId, source: 'remote', inPlaceBytes: 0, localBytes: 0, remoteBytes: totalBytes(work.entries), reason: work.noLocalReason ?? 'no secondary copy'}
}

export function describe(taskId: string, checkpointId: string, files: FileEntry[], good: boolean[], copy: LocalCopy): TaskPlan {
  let localBytes = 0
  let remoteBytes = 0
  let bad = 0
  files.forEach((entry, i) => {
    if (good[i]) localBytes += entry.size
    else {
      remoteBytes += entry.size
      bad++
    }
  })
  const where = `secondary copy in ${copy.root}`
  if (bad === 0) return {taskId, checkpointId, source: 'local', inPlaceBytes: 0, localBytes, remoteBytes, reason: `${where} verified (${files.length} file${files.length === 1 ? '' : 's'})`}
  if (bad === files.length && localBytes === 0) {
    return {taskId, checkpointId, source: 'remote', inPlaceBytes: 0, localBytes, remoteBytes, reason: `${where}: all ${files.length} files missing or differ from the manifest`}
  }
  return {
    taskId,
    checkpointId,
    source: 'mixed',
    inPlaceBytes: 0,
    localBytes,
    remoteBytes,
    reason: `${where}: ${bad} of ${files.length} files missing or differ from the manifest; those come from the primary`,
  }
}
