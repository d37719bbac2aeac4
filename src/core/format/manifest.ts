// The manifest (the commit record of a checkpoint) and each task's index of files (docs/FORMAT.md).
import {createHash} from '../util/crypto.js'
import {ManifestError, NewerFormatError} from '../errors.js'
import {parseIndexJson} from './index-stream.js'
import {parseCheckpointId, type CheckpointId} from './ids.js'
import {FORMAT_VERSION} from './keys.js'
import {checkEntries, type EntryType} from './safe-path.js'
import {isDigestAlgorithm, type DigestAlgorithm} from '../util/digest.js'

export type {EntryType}

export interface FileEntry {
  path: string
  type: EntryType
  /** Permission bits (mode & 0o7777). */
  mode: number
  size: number
  mtimeMs: number
  /** Hex SHA-256 of a file's bytes. */
  sha256?: string
  /** A symlink's target. */
  target?: string
  /** Offset of a file's bytes in the task archive. */
  offset?: number
  /** Numeric owner and group (absent in checkpoints written before they were recorded). */
  uid?: number
  gid?: number
}

/** The state folder's own metadata; absent in checkpoints written before it was recorded. */
export interface StateRoot {
  mode: number
  mtimeMs: number
  uid: number
  gid: number
}

export interface TaskIndex {
  format: number
  taskId: string
  root?: StateRoot
  entries: FileEntry[]
}

export interface TaskRecord {
  taskId: string
  /** Archive key (tar) holding the task's bytes. */
  archive: string
  archiveSize: number
  archiveSha256: string
  /** Index key (JSON list of entries). */
  index: string
  indexSize: number
  indexSha256: string
  files: number
  bytes: number
}

export interface Manifest {
  format: number
  job: string
  checkpointId: CheckpointId
  createdAt: string
  completedAt: string
  node: string
  tasks: TaskRecord[]
}

/**
 * A format-2 task record: the index (no archive: the bytes are in packs the index names) and what
 * the take stored. It is exactly what a task's acknowledgement carries when many nodes take a
 * checkpoint together.
 */
export interface TaskRecordV2 {
  taskId: string
  index: string
  indexSize: number
  /** SHA-256 of the index bytes, as in format 1. */
  indexSha256: string
  files: number
  bytes: number
  /** The checkpoint whose records this task's take trusted for unchanged files. */
  base?: string
  /** Packs the index names, and their bytes. */
  packs: number
  packBytes: number
  /** Bytes of blobs this take stored first for this task. */
  addedBytes: number
  /** Bytes this take put for this task (packs and index). */
  uploadedBytes: number
  /** File bytes served by blobs that already existed. */
  reusedBytes: number
  /** Many nodes: the node that captured the task and acknowledged it. */
  node?: string
}

export interface ManifestV2 {
  format: 2
  job: string
  checkpointId: CheckpointId
  status: 'completed'
  /** The job-wide recovery this checkpoint belongs to (0 for one node). */
  epoch: number
  digest: DigestAlgorithm
  chunkSize: number
  createdAt: string
  completedAt: string
  node: string
  tasks: TaskRecordV2[]
}

/** The other outcome under a checkpoint's commit key: it never completes. */
export interface AbortRecord {
  format: 2
  job: string
  checkpointId: CheckpointId
  status: 'aborted'
  epoch: number
  reason: string
  abortedAt: string
  node: string
}

/** What lies under a commit key: a completed manifest of format 1 or 2, or an abort record. */
export type CommitRecord = Manifest | ManifestV2 | AbortRecord

export function isManifestV2(manifest: Manifest | ManifestV2): manifest is ManifestV2 {
  return manifest.format === 2
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex')
}

/** Parses a completed manifest of either format; an abort record is not a manifest (ManifestError). */
export function parseManifest(raw: Buffer, where: string): Manifest | ManifestV2 {
  const doc = parseCommitRecord(raw, where)
  if (isAborted(doc)) throw new ManifestError(`${where}: the checkpoint was aborted (${doc.reason}); it never completed`)
  return doc
}

export function isAborted(record: CommitRecord): record is AbortRecord {
  return record.format === 2 && (record as AbortRecord).status === 'aborted'
}

/** A commit record as read, before it is checked. */
interface RawRecord {
  format?: unknown
  checkpointId?: unknown
  status?: unknown
  reason?: unknown
  digest?: unknown
  tasks?: Array<{taskId?: unknown; archive?: unknown; index?: unknown; indexSha256?: unknown}>
}

/** Parses what lies under a commit key: a manifest of format 1 or 2, or an abort record. */
export function parseCommitRecord(raw: Buffer, where: string): CommitRecord {
  let doc: RawRecord
  try {
    doc = JSON.parse(raw.toString('utf8'))
  } catch (error) {
    throw new ManifestError(`${where}: manifest is not valid JSON (${(error as Error).message})`)
  }
  if (!doc || typeof doc !== 'object') throw new ManifestError(`${where}: manifest is not an object`)
  if (typeof doc.format !== 'number') throw new ManifestError(`${where}: manifest has no format version`)
  if (doc.format > FORMAT_VERSION) {
    throw new NewerFormatError(`${where}: manifest format ${doc.format} is newer than this ckpt understands (${FORMAT_VERSION}); upgrade ckpt`)
  }
  if (doc.format < 1) throw new ManifestError(`${where}: manifest format ${doc.format} is unknown`)
  if (typeof doc.checkpointId !== 'string') throw new ManifestError(`${where}: manifest lacks checkpointId`)
  if (parseCheckpointId(doc.checkpointId) === undefined) throw new ManifestError(`${where}: manifest names checkpoint ${JSON.stringify(doc.checkpointId)}, which is not of the form chk-N`)
  if (doc.format === 2 && doc.status === 'aborted') {
    if (typeof doc.reason !== 'string') throw new ManifestError(`${where}: abort record has no reason`)
    return doc as AbortRecord
  }
  if (!Array.isArray(doc.tasks)) throw new ManifestError(`${where}: manifest lacks tasks`)
  if (doc.format === 2) {
    if (doc.status !== 'completed') throw new ManifestError(`${where}: commit record has unknown status ${JSON.stringify(doc.status)}`)
    if (!isDigestAlgorithm(doc.digest)) throw new ManifestError(`${where}: manifest names an unknown digest ${JSON.stringify(doc.digest)}`)
  }
  for (const task of doc.tasks) {
    const archive = doc.format === 2 || typeof task?.archive === 'string'
    if (typeof task?.taskId !== 'string' || !archive || typeof task.index !== 'string' || typeof task.indexSha256 !== 'string') {
      throw new ManifestError(`${where}: manifest has a malformed task record`)
    }
  }
  return doc as Manifest | ManifestV2
}

export function parseIndex(raw: Buffer, record: Pick<TaskRecord, 'taskId' | 'indexSize' | 'indexSha256'>, where: string): TaskIndex {
  if (raw.length !== record.indexSize || sha256(raw) !== record.indexSha256) {
    throw new ManifestError(`${where}: index of task ${record.taskId} does not match the digest in the manifest`)
  }
  let doc: TaskIndex
  try {
    doc = parseIndexJson(raw) as TaskIndex
  } catch (error) {
    throw new ManifestError(`${where}: index of task ${record.taskId} is not valid JSON`)
  }
  return checkIndex(doc, record, where)
}

/** Checks a parsed index against its manifest record: format, entries, root. */
export function checkIndex(doc: TaskIndex, record: Pick<TaskRecord, 'taskId'>, where: string): TaskIndex {
  if (typeof doc?.format === 'number' && doc.format > FORMAT_VERSION) {
    throw new NewerFormatError(`${where}: index of task ${record.taskId} is of format ${doc.format}, newer than this ckpt understands (${FORMAT_VERSION}); upgrade ckpt`)
  }
  if (!Array.isArray(doc?.entries)) throw new ManifestError(`${where}: index of task ${record.taskId} has no entries`)
  checkEntries(doc.entries, `${where} task ${record.taskId}`)
  if (doc.root !== undefined && !isStateRoot(doc.root)) throw new ManifestError(`${where}: index of task ${record.taskId} has a malformed root record`)
  return doc
}

function isStateRoot(root: unknown): root is StateRoot {
  const r = root as Record<string, unknown>
  // mtimeMs may be negative: a folder dated before 1970.
  return !!r && typeof r === 'object' && Number.isInteger(r.mtimeMs) && ['mode', 'uid', 'gid'].every((k) => Number.isInteger(r[k]) && (r[k] as number) >= 0)
}
