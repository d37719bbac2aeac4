// Stages one format-2 file from this node's disk: kept from the current stateDir (linked when
// bytes and metadata match, else copied and patched), or copied from the local copy; every blob
// is checked by its digest. What neither holds is left for the primary (blobs.ts).
import {linkSync} from 'node:fs'
import * as fs from 'node:fs/promises'
import type {EntryV2} from '../format/index2.js'
import type {DigestAlgorithm} from '../util/digest.js'
import {digestHex} from '../util/digest.js'
import {blobsMatching, cloneFile, finishFileV2, metadataMatches, readFully, sameSizeFile} from './in-place.js'
import type {SourceBytes, TaskWorkV2} from './plan2.js'
import {targetPath} from './verified-copy.js'

/** A staged file still missing some blobs (indexes into its `blobs`). */
export interface Pending {
  entry: EntryV2
  missing: number[]
  /** The staged file was made empty here (all holes), not copied: zero blocks need no write. */
  fresh?: boolean
}

/** fromStateDir's answer for a file hard-linked into staging as it is. */
const LINKED: number[] = []

export class DiskSources {
  constructor(
    private readonly work: TaskWorkV2,
    private readonly stateDir: string,
    private readonly stagingDir: string,
    readonly bytes: SourceBytes,
    /** Big files are hashed on the worker threads (hashWorkersPay). */
    private readonly workers: boolean,
  ) {}

  private get digest(): DigestAlgorithm {
    return this.work.index.digest
  }

  /** Stages the file from disk as far as it can; returns the blobs the primary must give (none: the file is finished). */
  async stage(entry: EntryV2): Promise<number[]> {
    const target = targetPath(this.stagingDir, entry.path)
    if (entry.size === 0) {
      await (await fs.open(target, 'wx', 0o600)).close()
      await finishFileV2(target, entry)
      return []
    }
    const missing = (await this.fromStateDir(entry, target)) ?? (await this.fromCopy(entry, target)) ?? (await this.empty(entry, target))
    // A linked file is the old state's own inode, with the right metadata already: nothing is set on it.
    if (missing === LINKED) return []
    if (missing.length === 0) await finishFileV2(target, entry)
    return missing
  }

  /** Undefined when the stateDir has no file of this size to start from. */
  private async fromStateDir(entry: EntryV2, target: string): Promise<number[] | undefined> {
    if (!this.work.inPlace) return undefined
    const source = targetPath(this.stateDir, entry.path)
    const st = await sameSizeFile(source, entry)
    if (!st) return undefined
    if (metadataMatches(st, entry) && (await blobsMatching(source, entry, this.digest, this.workers)).every(Boolean) && (await linked(source, target))) {
      this.bytes.inPlaceBytes += entry.size
      return LINKED
    }
    if (!(await cloned(source, target))) return undefined
    const good = await blobsMatching(target, entry, this.digest, this.workers)
    this.bytes.inPlaceBytes += bytesOf(entry, good, true)
    return this.patchFromCopy(entry, target, missingOf(good))
  }

  private async fromCopy(entry: EntryV2, target: string): Promise<number[] | undefined> {
    if (!this.work.copy) return undefined
    const source = targetPath(this.work.copy.stateDir, entry.path)
    // Copied, never linked: a copy's files are shared with other copies, and staging becomes the live state.
    if (!(await sameSizeFile(source, entry)) || !(await cloned(source, target))) return undefined
    const good = await blobsMatching(target, entry, this.digest, this.workers)
    this.bytes.localBytes += bytesOf(entry, good, true)
    return missingOf(good)
  }

  /** Files made empty by this stager (holes only): their zero blocks need no write. */
  readonly fresh = new Set<EntryV2>()

  /** A file of the right size, all holes, for the primary's blobs to be written into. */
  private async empty(entry: EntryV2, target: string): Promise<number[]> {
    const handle = await fs.open(target, 'wx', 0o600)
    try {
      await handle.truncate(entry.size)
    } finally {
      await handle.close()
    }
    this.fresh.add(entry)
    return (entry.blobs ?? []).map((_, i) => i)
  }

  /** Blobs that differ in place, read from the local copy's file at the same place, each checked. */
  private async patchFromCopy(entry: EntryV2, target: string, missing: number[]): Promise<number[]> {
    if (missing.length === 0 || !this.work.copy) return missing
    const source = targetPath(this.work.copy.stateDir, entry.path)
    if (!(await sameSizeFile(source, entry))) return missing
    const starts = blobStarts(entry)
    const still: number[] = []
    let done = 0
    let from: fs.FileHandle | undefined
    let to: fs.FileHandle | undefined
    try {
      from = await fs.open(source, 'r')
      to = await fs.open(target, 'r+')
      const buffer = Buffer.allocUnsafe(Math.max(...missing.map((i) => entry.blobs![i][2])))
      for (const i of missing) {
        const [, , length, blobId] = entry.blobs![i]
        const data = await readFully(from, buffer, length, starts[i])
        if (data && digestHex(data, this.digest) === blobId) {
          await writeAll(to, data, starts[i])
          this.bytes.localBytes += length
        } else still.push(i)
        done++
      }
    } catch {
      // the copy's file cannot be read: what is left comes from the primary
      still.push(...missing.slice(done))
    } finally {
      await from?.close()
      await to?.close()
    }
    return still
  }
}

/** Each blob's offset in its file. */
export function blobStarts(entry: EntryV2): number[] {
  let at = 0
  return (entry.blobs ?? []).map((ref) => {
    const start = at
    at += ref[2]
    return start
  })
}

function bytesOf(entry: EntryV2, good: boolean[], wanted: boolean): number {
  return (entry.blobs ?? []).reduce((sum, ref, i) => sum + (good[i] === wanted ? ref[2] : 0), 0)
}

function missingOf(good: boolean[]): number[] {
  return good.flatMap((ok, i) => (ok ? [] : [i]))
}

export async function writeAll(handle: fs.FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0
  while (done < data.length) done += (await handle.write(data, done, data.length - done, position + done)).bytesWritten
}

/** A hard link into staging; false when the file system will not link (another device, too many links). */
async function linked(source: string, target: string): Promise<boolean> {
  try {
    // On this thread: a link is a metadata write of microseconds, less than a thread-pool round trip.
    linkSync(source, target)
    return true
  } catch {
    // not linkable here: the file is copied instead
    return false
  }
}

async function cloned(source: string, target: string): Promise<boolean> {
  try {
    await cloneFile(source, target)
    return true
  } catch {
    // unreadable source: the file comes from elsewhere
    await fs.rm(target, {force: true})
    return false
  }
}
