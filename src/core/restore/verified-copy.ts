// Verified bytes on this node: a file's digest (in memory or on a worker) and a local copy moved into
// staging (a kernel copy, then the written file hashed) only when it matches the manifest's SHA-256.
// The primary's side is in fetch.ts.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {sha256, type FileEntry} from '../format/manifest.js'
import {hashPool} from '../util/hash-pool.js'
import {giveOwner} from '../archive/owners.js'
import {copySparse, hasHoles} from '../util/sparse.js'

/**
 * Files up to this size are hashed on the main thread from memory: for them a worker's round trip
 * costs more than the hash, and a state of only small files never starts the workers (each holds
 * about 10 MB).
 */
export const INLINE_HASH = 64 << 10

export function targetPath(root: string, rel: string): string {
  return path.join(root, ...rel.split('/'))
}

/**
 * SHA-256 of a regular file of `size` bytes, or undefined when it is not one (a missing file
 * throws). The one place that picks between hashing from memory and a worker thread.
 */
export async function digestOf(file: string, size: number): Promise<string | undefined> {
  const st = await fs.lstat(file)
  if (!st.isFile() || st.size !== size) return undefined
  if (size <= INLINE_HASH) {
    const data = await fs.readFile(file)
    return data.length === size ? sha256(data) : undefined
  }
  const digest = await hashPool.hashFile(file)
  return digest.size === size ? digest.sha256 : undefined
}

/** digestOf, with undefined for a file that cannot be read either (for --plan). */
export async function hashLocalFile(file: string, size: number): Promise<string | undefined> {
  // a file that cannot be read has no digest: it is fetched from the primary instead
  return digestOf(file, size).catch(() => undefined)
}

/**
 * Copies a local file into place in the kernel (copy_file_range, as cp does), then hashes what was
 * written on a worker thread; a small file is read, hashed and written from memory instead. False
 * (and nothing left) when it does not match the manifest.
 */
export async function copyVerified(source: string, target: string, entry: FileEntry, onBytes?: (bytes: number) => void): Promise<boolean> {
  let ok = false
  try {
    const st = await fs.lstat(source)
    if (!st.isFile() || st.size !== entry.size) return false
    if (entry.size <= INLINE_HASH) {
      const data = await fs.readFile(source)
      if (data.length !== entry.size || sha256(data) !== entry.sha256) return false
      await fs.writeFile(target, data, {flag: 'wx', mode: 0o600})
    } else {
      // The kernel's copy fills holes: a sparse file is copied block by block, its zero blocks skipped.
      if (hasHoles(st)) await copySparse(source, target)
      else await fs.copyFile(source, target, fs.constants.COPYFILE_EXCL)
      if ((await digestOf(target, entry.size)) !== entry.sha256) return false
    }
    await finishFile(target, entry)
    ok = true
    onBytes?.(entry.size)
    return true
  } catch {
    // unreadable or vanished source: the caller fetches the file from the primary
    return false
  } finally {
    if (!ok) await fs.rm(target, {force: true})
  }
}

/** Gives a verified file its owner (as root), mode and modification time. */
export async function finishFile(file: string, entry: FileEntry): Promise<void> {
  await giveOwner(file, entry)
  await fs.chmod(file, entry.mode & 0o7777)
  await fs.utimes(file, new Date(entry.mtimeMs), new Date(entry.mtimeMs))
}
