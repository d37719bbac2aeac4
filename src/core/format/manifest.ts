// The manifest (the commit record of a checkpoint) and each task's index of files (docs/FORMAT.md).
import {createHash} from '../util/crypto.js'
import {ManifestError, NewerFormatError} from '../errors.js'
import {parseIndexJson} from './index-stream.js'
import {parseCheckpointId, type CheckpointId} from './ids.js'
import {FORMAT_VERSION} from './keys.js'
import {checkEntries, type EntryType} from './safe-path.js'

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

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex')
}

export function parseManifest(raw: Buffer, where: string): Manifest {
  let doc: Manifest
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
  if (typeof doc.checkpointId !== 'string' || !Array.isArray(doc.tasks)) throw new ManifestError(`${where}: manifest lacks checkpointId or tasks`)
  if (parseCheckpointId(doc.checkpointId) === undefined) throw new ManifestError(`${where}: manifest names checkpoint ${JSON.stringify(doc.checkpointId)}, which is not of the form chk-N`)
  for (const task of doc.tasks) {
    if (typeof task?.taskId !== 'string' || typeof task.archive !== 'string' || typeof task.index !== 'string') {
      throw new ManifestError(`${where}: manifest has a malformed task record`)
    }
  }
  return doc
}

export function parseIndex(raw: Buffer, record: TaskRecord, where: string): TaskIndex {
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
export function checkIndex(doc: TaskIndex, record: TaskRecord, where: string): TaskIndex {
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
