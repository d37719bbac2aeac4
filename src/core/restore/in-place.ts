// Format 2's files on this node's disk, checked blob by blob: a file in the current stateDir (kept
// when it already holds the checkpoint's bytes) or in a local copy. Nothing here writes to the
// file it checks: a kept file is hard-linked into staging untouched, anything else is copied first.
import {chmodSync, lstatSync, utimesSync, type BigIntStats} from 'node:fs'
import * as fs from 'node:fs/promises'
import type {EntryV2} from '../format/index2.js'
import {giveOwnerSync, canChown} from '../archive/owners.js'
import {digestHex, nativeModulePath, type DigestAlgorithm} from '../util/digest.js'
import {hashPool} from '../util/hash-pool.js'

/** A file's modification time in nanoseconds, as the index records it. */
export function entryTimeNs(entry: Pick<EntryV2, 'mtimeNs' | 'mtimeMs'>): bigint {
  return entry.mtimeNs !== undefined ? BigInt(entry.mtimeNs) : BigInt(Math.floor(entry.mtimeMs)) * 1_000_000n
}

/**
 * utimes takes seconds as a double (a quarter of a microsecond apart near 2026) and the kernel
 * gets whole microseconds, cut off: half a microsecond more makes that the nearest one, so a time
 * on a whole millisecond stays on it (`new Date(ms)` lands 1 µs below, and a folder restored
 * twice went back a millisecond).
 */
export function timeOf(entry: Pick<EntryV2, 'mtimeNs' | 'mtimeMs'>): number {
  const ns = entryTimeNs(entry)
  return Number(ns / 1_000_000_000n) + (Number(ns % 1_000_000_000n) + 500) / 1e9
}

/** Times closer than this are equal: a time set by utimes lands within a microsecond of the recorded one. */
const TIME_SLACK_NS = 1000n

/** Mode, owner (where this process can give owners) and mtime (µs) are the entry's: the file may be linked as it is. */
export function metadataMatches(st: BigIntStats, entry: EntryV2): boolean {
  if (Number(st.mode & 0o7777n) !== (entry.mode & 0o7777)) return false
  const owner = canChown() && entry.uid !== undefined ? {uid: entry.uid, gid: entry.gid} : {uid: process.getuid?.(), gid: process.getgid?.()}
  if (owner.uid !== undefined && Number(st.uid) !== owner.uid) return false
  if (owner.gid !== undefined && Number(st.gid) !== owner.gid) return false
  return sameTime(st, entry)
}

/** The file's mtime is the entry's, to the microsecond. */
export function sameTime(st: BigIntStats, entry: EntryV2): boolean {
  const diff = st.mtimeNs - entryTimeNs(entry)
  return diff < TIME_SLACK_NS && diff > -TIME_SLACK_NS
}

/** A regular file of the entry's size at `file`, or undefined. */
export async function sameSizeFile(file: string, entry: EntryV2): Promise<BigIntStats | undefined> {
  let st: BigIntStats | undefined
  try {
    // On this thread, as the metadata calls below: microseconds each, against a thread-pool round trip.
    st = lstatSync(file, {bigint: true})
  } catch {
    // a missing or unreadable file is simply not a source
  }
  return st?.isFile() && st.size === BigInt(entry.size) ? st : undefined
}

/** Files up to this size are read whole; bigger ones blob by blob into one buffer. */
const READ_WHOLE = 64 << 10

/**
 * Which of the entry's blobs the file holds at their places (true per blob). A file that cannot be
 * read or is shorter holds none of the blobs it does not reach.
 */
export async function blobsMatching(file: string, entry: EntryV2, digest: DigestAlgorithm, workers: boolean): Promise<boolean[]> {
  const blobs = entry.blobs ?? []
  const good = blobs.map(() => false)
  if (entry.size <= READ_WHOLE) {
    // unreadable: nothing matches
    const data = await fs.readFile(file).catch(() => undefined)
    let at = 0
    blobs.forEach((ref, i) => {
      if (data && data.length === entry.size) good[i] = digestHex(data.subarray(at, at + ref[2]), digest) === ref[3]
      at += ref[2]
    })
    return good
  }
  // Big files are hashed on the worker threads (one per core), as format 1's restore does, when
  // the restore has enough of them to pay for the workers' start (hashWorkersPay).
  if (workers) {
    try {
      const {digests} = await hashPool.pieceDigests(
        file,
        blobs.map((b) => b[2]),
        workerAddon(digest),
      )
      blobs.forEach((ref, i) => (good[i] = digests?.[i] === ref[3]))
    } catch {
      // unreadable: nothing matches, and the blobs come from elsewhere
    }
    return good
  }
  let handle: fs.FileHandle | undefined
  try {
    handle = await fs.open(file, 'r')
    const buffer = Buffer.allocUnsafe(Math.max(...blobs.map((b) => b[2])))
    let at = 0
    for (const [i, ref] of blobs.entries()) {
      const data = await readFully(handle, buffer, ref[2], at)
      good[i] = data !== undefined && digestHex(data, digest) === ref[3]
      at += ref[2]
    }
  } catch {
    // unreadable part way: the blobs not yet checked stay false and come from elsewhere
  } finally {
    await handle?.close()
  }
  return good
}

/**
 * Bytes of big files below which a restore hashes on its own thread: starting the hash workers
 * costs about 50 ms of CPU each (a Node environment and the BLAKE3 addon), as much as hashing
 * some 100 MiB, and most restores of small states would pay it for a few files.
 */
const WORKER_BYTES = 64 << 20

/** The BLAKE3 addon the hash workers load for this digest (none for SHA-256, which node hashes). */
const workerAddon = (digest: DigestAlgorithm) => (digest === 'sha256' ? undefined : nativeModulePath)

/** Whether the worker threads should hash these files (and can: SHA-256, or BLAKE3 through the addon). */
export function hashWorkersPay(files: EntryV2[], digest: DigestAlgorithm): boolean {
  if (digest !== 'sha256' && !nativeModulePath) return false
  return files.reduce((sum, e) => sum + (e.size > READ_WHOLE ? e.size : 0), 0) >= WORKER_BYTES
}

/** Starts the hash workers for this digest while a restore makes its folders (when hashWorkersPay). */
export function warmHashWorkers(digest: DigestAlgorithm): void {
  hashPool.warm(workerAddon(digest))
}

/** `length` bytes at `position`, or undefined when the file ends first. */
export async function readFully(handle: fs.FileHandle, buffer: Buffer, length: number, position: number): Promise<Buffer | undefined> {
  let filled = 0
  while (filled < length) {
    const {bytesRead} = await handle.read(buffer, filled, length - filled, position + filled)
    if (bytesRead === 0) return undefined
    filled += bytesRead
  }
  return buffer.subarray(0, length)
}

/** A copy in the kernel (a reflink, else copy_file_range), or block by block for a file with holes, which keeps them. */
export {cloneFile} from '../util/sparse.js'

/** Gives a staged file (never a linked one) its owner, mode and time. */
export async function finishFileV2(file: string, entry: EntryV2): Promise<void> {
  giveOwnerSync(file, entry)
  chmodSync(file, entry.mode & 0o7777)
  const time = timeOf(entry)
  utimesSync(file, time, time)
}
