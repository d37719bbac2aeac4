// Format 2's task index: every entry of a task's state with its change stamps and, for a file,
// where its bytes are: [pack, offset, length, blobId] per blob (docs/FORMAT.md, "Format 2").
import {ManifestError} from '../errors.js'
import {isDigestAlgorithm, isHexDigest, type DigestAlgorithm} from '../util/digest.js'
import type {FileEntry, StateRoot} from './manifest.js'
import {checkEntries} from './safe-path.js'

/** One blob of a file: the ordinal of its pack in the index's `packs`, its offset and length there, its digest. */
export type BlobRef = [pack: number, offset: number, length: number, blobId: string]

/**
 * An entry: format 1's fields (path, type, mode, size, mtimeMs, uid, gid, target) without its
 * archive offset and SHA-256, plus the change stamps of the file the take read and its blobs.
 */
export interface EntryV2 extends Omit<FileEntry, 'sha256' | 'offset'> {
  /** Times in nanoseconds, inode and device, as decimal strings (they exceed 2^53). */
  mtimeNs?: string
  ctimeNs?: string
  ino?: string
  dev?: string
  /** A file's blobs in file order; their lengths add up to `size`. */
  blobs?: BlobRef[]
  /** The file changed within a clock tick of the scan: the next take reads it whatever its stamps. */
  racy?: true
}

export interface PackRef {
  /** The pack's digest, which is its name. */
  id: string
  size: number
}

export interface TaskIndexV2 {
  format: 2
  taskId: string
  checkpointId: string
  digest: DigestAlgorithm
  chunkSize: number
  node: string
  /** The completed checkpoint whose records this take trusted for unchanged files. */
  base?: string
  /** Every file was read (no stamps trusted). */
  fullRead: boolean
  /** Takes since the last full read. */
  readsSinceFull: number
  packs: PackRef[]
  root?: StateRoot
  entries: EntryV2[]
}

/** Checks a parsed format-2 index: its fields, its entries' paths, and every blob inside a listed pack, sizes adding up. */
export function checkIndexV2(doc: TaskIndexV2, taskId: string, where: string): TaskIndexV2 {
  const bad = (what: string) => new ManifestError(`${where}: index of task ${taskId} ${what}`)
  if (doc?.format !== 2) throw bad('is not of format 2')
  if (!isDigestAlgorithm(doc.digest)) throw bad(`names an unknown digest ${JSON.stringify(doc.digest)}`)
  if (!Number.isSafeInteger(doc.chunkSize) || doc.chunkSize <= 0) throw bad('has no valid chunkSize')
  if (!Array.isArray(doc.packs) || !doc.packs.every((p) => isHexDigest(p?.id) && Number.isSafeInteger(p.size) && p.size >= 0)) throw bad('has a malformed pack list')
  if (!Array.isArray(doc.entries)) throw bad('has no entries')
  checkEntries(doc.entries as FileEntry[], `${where} task ${taskId}`)
  for (const entry of doc.entries) {
    if (entry.type !== 'file') continue
    const blobs = entry.blobs
    if (!Array.isArray(blobs)) throw bad(`has no blobs for file ${entry.path}`)
    let total = 0
    for (const ref of blobs) {
      const pack = Array.isArray(ref) ? doc.packs[ref[0]] : undefined
      const ok = pack && Number.isSafeInteger(ref[1]) && Number.isSafeInteger(ref[2]) && ref[1] >= 0 && ref[2] >= 0 && ref[1] + ref[2] <= pack.size && isHexDigest(ref[3])
      if (!ok) throw bad(`has a malformed blob for file ${entry.path}`)
      total += ref[2]
    }
    if (total !== entry.size) throw bad(`says file ${entry.path} is ${entry.size} bytes but its blobs hold ${total}`)
  }
  return doc
}

/** The stamps that say a file is unchanged since a record (restic's rule: size, mtime, ctime, inode; plus the device). */
export function sameStamps(a: EntryV2, b: EntryV2): boolean {
  return a.type === 'file' && b.type === 'file' && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino && a.dev === b.dev && a.mtimeNs !== undefined && !b.racy
}
