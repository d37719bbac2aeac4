// Re-reads primary copies for 'checkpoint verify --read-data[-subset]': which files to read,
// and hashing them from one pass over the archive or from range reads.
import type {Hash} from 'node:crypto'
import type {Readable} from 'node:stream'
import {createHash} from '../util/crypto.js'
import {StoreUnavailableError, UsageError, messageOf} from '../errors.js'
import type {PrimaryStore} from '../stores/store.js'
import {sha256, type FileEntry, type TaskRecord} from '../format/manifest.js'

export type DataCheck = {kind: 'none'} | {kind: 'all'} | {kind: 'slice'; n: number; m: number} | {kind: 'percent'; percent: number}

export interface VerifyProblem {
  taskId?: string
  /** A task file's path, for a problem with one file. */
  file?: string
  /** A store object's key, for a problem with one object. */
  object?: string
  problem: string
  /** Format 2: the other completed checkpoints that a missing or bad shared object breaks too. */
  alsoBreaks?: string[]
  /** Format 2: every file of the completed checkpoints that uses a bad blob. */
  usedBy?: BlobUse[]
}

/** A file of a checkpoint that uses a blob. */
export interface BlobUse {
  checkpointId: string
  taskId: string
  file: string
}

/** Parses `N/M` (the N-th of M slices) or `P%`. */
export function parseSubset(text: string): DataCheck {
  const slice = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text)
  if (slice) {
    const n = Number(slice[1])
    const m = Number(slice[2])
    if (m >= 1 && n >= 1 && n <= m) return {kind: 'slice', n, m}
  }
  const percent = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(text)
  if (percent && Number(percent[1]) > 0 && Number(percent[1]) <= 100) return {kind: 'percent', percent: Number(percent[1])}
  throw new UsageError(`${JSON.stringify(text)} is not a part of the data: use N/M (the N-th of M slices, 1 <= N <= M, e.g. 2/5) or P% (0 < P <= 100, e.g. 10%)`)
}

export function describeCheck(check: DataCheck): string {
  if (check.kind === 'none') return 'none'
  if (check.kind === 'all') return 'all'
  return check.kind === 'slice' ? `${check.n}/${check.m}` : `${check.percent}%`
}

/** The files one run reads: slices are fixed by (checkpoint, task, path), so slices 1..M together cover every file. */
export function selectFiles(check: DataCheck, checkpointId: string, taskId: string, files: FileEntry[]): FileEntry[] {
  if (check.kind === 'none') return []
  if (check.kind === 'all') return files
  if (check.kind === 'percent') return files.filter(() => Math.random() * 100 < check.percent)
  return files.filter((f) => sliceOf(checkpointId, taskId, f.path, check.m) === check.n - 1)
}

/** Format 2 checks data by pack: slices are fixed by the pack id (restic's --read-data-subset). */
export function selectPacks(check: DataCheck, packIds: string[]): string[] {
  if (check.kind === 'none') return []
  if (check.kind === 'all') return packIds
  if (check.kind === 'percent') return packIds.filter(() => Math.random() * 100 < check.percent)
  return packIds.filter((id) => Buffer.from(id.slice(0, 8), 'hex').readUInt32BE(0) % check.m === check.n - 1)
}

export function sliceOf(checkpointId: string, taskId: string, filePath: string, m: number): number {
  return Buffer.from(sha256(`${checkpointId}\0${taskId}\0${filePath}`), 'hex').readUInt32BE(0) % m
}

function mismatch(taskId: string, entry: FileEntry, actual: string): VerifyProblem {
  return {taskId, file: entry.path, problem: `content differs from the manifest (SHA-256 ${actual.slice(0, 12)}…, expected ${entry.sha256?.slice(0, 12)}…)`}
}

function readFailure(taskId: string, key: string, error: unknown): VerifyProblem {
  if (error instanceof StoreUnavailableError) throw error
  return {taskId, object: key, problem: `cannot be read: ${messageOf(error)}`}
}

/** One pass over the whole archive: checks its SHA-256 and every file's. */
export async function checkWholeArchive(primary: PrimaryStore, record: TaskRecord, files: FileEntry[], onBytes: (n: number) => void): Promise<VerifyProblem[]> {
  const problems: VerifyProblem[] = []
  const sorted = [...files].sort((a, b) => a.offset! - b.offset!)
  const archiveHash = createHash('sha256')
  let current: Hash | undefined
  let i = 0
  let pos = 0
  const finish = () => {
    const digest = (current ?? createHash('sha256')).digest('hex')
    if (digest !== sorted[i].sha256) problems.push(mismatch(record.taskId, sorted[i], digest))
    current = undefined
    i++
  }
  try {
    for await (const chunk of (await primary.get(record.archive)) as Readable) {
      const buf = chunk as Buffer
      archiveHash.update(buf)
      let at = 0
      while (i < sorted.length) {
        const start = sorted[i].offset!
        const end = start + sorted[i].size
        if (pos + at < start) {
          if (start - pos >= buf.length) break
          at = start - pos
        }
        const upTo = Math.min(buf.length, end - pos)
        current ??= createHash('sha256')
        current.update(buf.subarray(at, upTo))
        at = upTo
        if (pos + at < end) break
        finish()
      }
      pos += buf.length
      onBytes(buf.length)
    }
  } catch (error) {
    return [...problems, readFailure(record.taskId, record.archive, error)]
  }
  while (i < sorted.length) {
    if (sorted[i].offset! + sorted[i].size <= pos) finish()
    else {
      problems.push({taskId: record.taskId, file: sorted[i].path, problem: 'the archive ends before this file does'})
      i++
    }
  }
  if (pos !== record.archiveSize) problems.push({taskId: record.taskId, object: record.archive, problem: `read ${pos} bytes, the manifest says ${record.archiveSize}`})
  else if (archiveHash.digest('hex') !== record.archiveSha256) problems.push({taskId: record.taskId, object: record.archive, problem: 'archive SHA-256 differs from the manifest'})
  return problems
}

/** Range reads of the chosen files only. */
export async function checkFiles(primary: PrimaryStore, record: TaskRecord, files: FileEntry[], onBytes: (n: number) => void): Promise<VerifyProblem[]> {
  const problems: VerifyProblem[] = []
  for (const entry of files) {
    const hash = createHash('sha256')
    let read = 0
    try {
      if (entry.size > 0) {
        for await (const chunk of await primary.get(record.archive, {range: {offset: entry.offset!, length: entry.size}})) {
          hash.update(chunk as Buffer)
          read += (chunk as Buffer).length
          onBytes((chunk as Buffer).length)
        }
      }
    } catch (error) {
      problems.push({...readFailure(record.taskId, record.archive, error), file: entry.path})
      continue
    }
    const digest = hash.digest('hex')
    if (read !== entry.size) problems.push({taskId: record.taskId, file: entry.path, problem: `read ${read} bytes, the index says ${entry.size}`})
    else if (digest !== entry.sha256) problems.push(mismatch(record.taskId, entry, digest))
  }
  return problems
}
