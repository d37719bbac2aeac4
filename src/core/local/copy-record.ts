// The record a secondary copy keeps beside its state (copy.json), and the copy as listed.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {randomBytes} from '../util/crypto.js'

export type CopyStatus = 'pending' | 'confirmed'

export interface CopyRecord {
  format: number
  job: string
  taskId: string
  checkpointId: string
  node: string
  status: CopyStatus
  files: number
  bytes: number
  createdAt: string
  confirmedAt?: string
  /** The primary store the copy belongs to (its displayUrl); copies of another primary are left alone. Absent in old copies. */
  primary?: string
  /** Format 2: SHA-256 of index.json, the task index the copy holds (equal to the manifest's indexSha256). */
  indexSha256?: string
  /** Format 2: files hard-linked from an earlier copy, and bytes written anew. */
  linkedFiles?: number
  copiedBytes?: number
}

export interface LocalCopy extends CopyRecord {
  root: string
  /** The copy's folder. */
  dir: string
  /** The task's state inside it. */
  stateDir: string
  /** True for a copy whose writing never finished (a leftover). */
  partial: boolean
  /** Modification time of the copy's folder, for grace periods. */
  mtimeMs: number
}

export function recordOf(copy: LocalCopy): CopyRecord {
  const {format, job, taskId, checkpointId, node, status, files, bytes, createdAt, confirmedAt, primary, indexSha256, linkedFiles, copiedBytes} = copy
  const v2 = indexSha256 === undefined ? {} : {indexSha256, linkedFiles, copiedBytes}
  return {format, job, taskId, checkpointId, node, status, files, bytes, createdAt, confirmedAt, ...(primary === undefined ? {} : {primary}), ...v2}
}

/** Replaces the record at `file` whole (a temp file renamed over it). */
export async function writeRecord(file: string, record: CopyRecord): Promise<void> {
  const temp = path.join(path.dirname(file), `${path.basename(file)}.tmp-${randomBytes(4).toString('hex')}`)
  await fs.writeFile(temp, JSON.stringify(record, null, 2) + '\n')
  await fs.rename(temp, file)
}

/** The record at `file`, or undefined when there is none or it cannot be read. */
export async function readRecord(file: string): Promise<CopyRecord | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as CopyRecord
  } catch {
    return undefined // no readable record: the caller treats the folder as a leftover
  }
}
