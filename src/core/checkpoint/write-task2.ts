// Writes one task's format-2 copies in two phases. capture(): reads the files that changed since
// the base (by their stamps), cuts them into blobs, hands new blobs to the take's pack builder, and
// builds the secondary copy (unchanged files hard-linked from the base's copy, changed ones copied).
// publish(), once every pack is durable: puts the task index and publishes the copy as pending.
import type {BigIntStats} from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import type {BlobLocation, PackBuilder, PackHandle} from '../archive/pack-builder.js'
import {scanStateV2, stillSame} from '../archive/scan2.js'
import {scanStateRoot} from '../archive/owners.js'
import {OperationError, messageOf} from '../errors.js'
import type {CheckpointId} from '../format/ids.js'
import {sameStamps, type BlobRef, type EntryV2, type PackRef, type TaskIndexV2} from '../format/index2.js'
import {IndexBody, indexChunks, type IndexDocument} from '../format/index-stream.js'
import {keys} from '../format/keys.js'
import type {StateRoot, TaskRecordV2} from '../format/manifest.js'
import type {CopyWriter, LocalCopy} from '../local/secondary.js'
import type {PrimaryStore} from '../stores/store.js'
import {digestHex, type DigestAlgorithm} from '../util/digest.js'
import {Limiter} from '../util/pool.js'
import {blobIdsOf, readSmall, type SmallRead} from './read-files.js'
import {BufferPool} from '../util/buffer-pool.js'
import {ReadAhead} from '../util/read-ahead.js'

/** Secondary-copy links and copies in flight while the take reads on. */
const COPIES = 32
import type {BaseTask} from './base.js'
import type {PhaseProgress, ProgressCounts} from '../progress.js'

/** What a capture hands the writer: where to read, and for a paused capture the live scan and which files it copied. */
export interface SourceV2 {
  sourceDir: string
  rootDir?: string
  /** The scan of the live stateDir made during a pause; files not in `copied` are unchanged since the base. */
  scan?: {entries: EntryV2[]; startedMs: number; copied: Set<string>}
}

export interface TaskDraftInput {
  primary: PrimaryStore
  job: string
  node: string
  checkpointId: CheckpointId
  taskId: string
  digest: DigestAlgorithm
  chunkSize: number
  builder: PackBuilder
  base?: BaseTask
  baseId?: string
  baseEntries?: Map<string, EntryV2>
  /** Read every file, trusting no stamps. */
  reread: boolean
  /** Where to write the secondary copy; undefined writes the primary copy only. */
  secondary?: () => Promise<CopyWriter>
  /** Starts this task's progress phase once its totals are known. */
  progress?: (total: ProgressCounts) => PhaseProgress | undefined
}

export interface TaskTotals {
  files: number
  bytes: number
  changedFiles: number
  addedBytes: number
  reusedBytes: number
}

/** A task captured and hashed, its new blobs handed to the builder; published once the packs are durable. */
export class TaskDraft {
  readonly totals: TaskTotals = {files: 0, bytes: 0, changedFiles: 0, addedBytes: 0, reusedBytes: 0}
  /** Why the secondary copy was dropped. */
  copyError: string | undefined
  private copy: CopyWriter | undefined
  private entries: EntryV2[] = []
  /** The packs this task's index names, in the order of its ordinals. */
  private readonly packs: PackHandle[] = []
  private readonly ordinals = new Map<PackHandle, number>()
  private root: StateRoot | undefined
  private progress: PhaseProgress | undefined

  constructor(private readonly input: TaskDraftInput) {}

  /** This node holds the base's confirmed copy of the task, so unchanged files are linked from it. */
  hasLocalBase(): boolean {
    return this.input.base?.localState !== undefined
  }

  async capture(source: SourceV2): Promise<void> {
    const {input} = this
    const scan = source.scan ?? (await scanStateV2(source.sourceDir, `task ${input.taskId}`, input.reread ? undefined : input.baseEntries))
    // A stateDir that a snapshot command does not need may be missing: its snapshot folder stands in.
    this.root = await scanStateRoot(source.rootDir ?? source.sourceDir).catch(() => scanStateRoot(source.sourceDir))
    this.entries = scan.entries
    this.copy = await this.openCopy()
    const files = this.entries.filter((e) => e.type === 'file')
    this.progress = input.progress?.({bytes: files.reduce((sum, e) => sum + e.size, 0), files: files.length})
    const racy: number[] = []
    const linkable = input.base?.localState
    const changed = this.entries.map((entry) => {
      if (entry.type !== 'file') return false
      const before = input.reread ? undefined : input.baseEntries?.get(entry.path)
      return !(before !== undefined && sameStamps(entry, before) && !source.scan?.copied.has(entry.path))
    })
    const sourcePath = (entry: EntryV2) => path.join(source.sourceDir, ...entry.path.split('/'))
    // Small changed files are read a few ahead; links and copies run beside the reads.
    // Buffers of big small files are reused: bounded by the reads ahead plus the copies in flight.
    const pool = new BufferPool(input.chunkSize + 1, 64)
    const smallReads = new ReadAhead(
      this.entries.flatMap((e, i) => (changed[i] && e.size <= input.chunkSize ? [i] : [])),
      (i) => readSmall(sourcePath(this.entries[i]), this.entries[i].size, pool),
      (i) => this.entries[i].size,
      {files: 32, bytes: 16 << 20},
    )
    const copies = new Limiter(COPIES)
    for (const [i, entry] of this.entries.entries()) {
      await this.onCopy((copy) => copy.add(entry))
      if (entry.type !== 'file') continue
      this.totals.files++
      this.totals.bytes += entry.size
      if (!changed[i]) {
        this.reuse(i, input.baseEntries!.get(entry.path)!)
        const from = linkable ? path.join(linkable, ...entry.path.split('/')) : sourcePath(entry)
        await copies.start(() => this.onCopy((copy) => (linkable ? copy.linkFile(entry, from, source.scan ? undefined : sourcePath(entry)) : copy.copyFile(entry, from))))
        this.progress?.advance(entry.size, 1)
        continue
      }
      const file = sourcePath(entry)
      if (entry.size <= input.chunkSize) {
        const read = await smallReads.take(i)
        await this.addSmall(i, entry, read, !source.scan)
        // The bytes just hashed are the copy's: no second read, and no other instant's content.
        await copies.start(() => this.onCopy((copy) => copy.writeFile(entry, read.data)).finally(() => release(pool, read)))
      } else {
        await this.readFile(i, entry, file, !source.scan)
        // A paused capture's file is a private copy: linking it keeps the copy cheap.
        await copies.start(() => this.onCopy((copy) => (source.scan ? copy.linkFile(entry, file) : copy.copyFile(entry, file))))
      }
      if (!source.scan && entry.racy) racy.push(i)
      this.progress?.advance(0, 1)
    }
    await copies.drain()
    await this.recheck(racy, source.sourceDir)
  }

  /** Puts the task index (every pack is durable by now) and publishes the secondary copy as pending. */
  async publish(): Promise<{record: TaskRecordV2; copy?: LocalCopy}> {
    const {input} = this
    // The task's line stays until its packs are durable (they are put while other tasks read on).
    this.progress?.end()
    // Every pack is sealed by now: its id and size are known.
    const packs: PackRef[] = this.packs.map((handle) => ({id: handle.id!, size: handle.size}))
    const index: TaskIndexV2 = {
      format: 2,
      taskId: input.taskId,
      checkpointId: input.checkpointId,
      digest: input.digest,
      chunkSize: input.chunkSize,
      node: input.node,
      ...(input.baseId === undefined ? {} : {base: input.baseId}),
      fullRead: input.reread || !input.base,
      readsSinceFull: input.reread || !input.base ? 0 : input.base.index.readsSinceFull + 1,
      packs,
      ...(this.root ? {root: this.root} : {}),
      entries: this.entries,
    }
    // Streamed, never whole: 100,000 files make an index of about 27 MB.
    const body = new IndexBody(index as unknown as IndexDocument)
    const indexKey = keys.index(input.job, input.checkpointId, input.taskId)
    await input.primary.put(indexKey, () => body.stream())
    const digest = body.sha256()
    const indexSize = body.size
    const record: TaskRecordV2 = {
      taskId: input.taskId,
      index: indexKey,
      indexSize,
      indexSha256: digest,
      files: this.totals.files,
      bytes: this.totals.bytes,
      ...(input.baseId === undefined ? {} : {base: input.baseId}),
      packs: packs.length,
      packBytes: packs.reduce((sum, p) => sum + p.size, 0),
      addedBytes: this.totals.addedBytes,
      uploadedBytes: this.totals.addedBytes + indexSize,
      reusedBytes: this.totals.reusedBytes,
    }
    const copy = await this.finishCopy(() => indexChunks(index as unknown as IndexDocument), digest)
    return {record, copy}
  }

  /** The take failed: nothing of the copy stays. */
  async abort(): Promise<void> {
    this.progress?.end()
    await this.dropCopy()
  }

  private async dropCopy(): Promise<void> {
    await this.copy?.abort()
    this.copy = undefined
  }

  /**
   * An unchanged file: the base's record stands in for the scan's (equal stamps imply equal
   * metadata), its blob references renumbered into this index's packs. The base's records are this
   * take's to change, and holding one record per file instead of two keeps 100,000 files small.
   */
  private reuse(i: number, before: EntryV2): void {
    for (const ref of before.blobs ?? []) {
      const where = this.input.builder.find(ref[3])!
      ref[0] = this.ordinalOf(where)
      ref[1] = where.offset
      ref[2] = where.length
    }
    this.entries[i] = before
    this.totals.reusedBytes += before.size
  }

  private ordinalOf(where: BlobLocation): number {
    let ordinal = this.ordinals.get(where.pack)
    if (ordinal === undefined) {
      ordinal = this.packs.push(where.pack) - 1
      this.ordinals.set(where.pack, ordinal)
    }
    return ordinal
  }

  /** A small changed file, read whole (ahead): one blob. */
  private async addSmall(i: number, entry: EntryV2, read: SmallRead, live: boolean): Promise<void> {
    this.totals.changedFiles++
    if (read.data.length !== entry.size) throw this.changed(entry, `${entry.size} → ${read.data.length} bytes`)
    if (live && !stillSame(entry, read.st)) throw this.changed(entry, 'rewritten in place: its times or inode moved')
    const blobs: BlobRef[] = []
    if (read.data.length > 0) {
      const blobId = digestHex(read.data, this.input.digest)
      const {location, added} = await this.input.builder.add(blobId, read.data)
      if (added) this.totals.addedBytes += read.data.length
      else this.totals.reusedBytes += read.data.length
      blobs.push([this.ordinalOf(location), location.offset, location.length, blobId])
      this.progress?.advance(read.data.length)
    }
    this.entries[i].blobs = blobs
  }

  /** Reads a changed file chunk by chunk; `live` files must still show their scanned stamps after the read. */
  private async readFile(i: number, entry: EntryV2, file: string, live: boolean): Promise<void> {
    const {builder, chunkSize, digest} = this.input
    this.totals.changedFiles++
    const blobs: BlobRef[] = []
    const handle = await fs.open(file, 'r')
    try {
      const buffer = Buffer.allocUnsafe(chunkSize)
      let read = 0
      for (;;) {
        // Reads up to one byte past the recorded size to notice a file that grew.
        const want = Math.min(chunkSize, entry.size - read + 1)
        const {bytesRead} = await handle.read(buffer, 0, want, read)
        if (bytesRead === 0) break
        read += bytesRead
        if (read > entry.size) break
        const chunk = buffer.subarray(0, bytesRead)
        const blobId = digestHex(chunk, digest)
        const {location, added} = await builder.add(blobId, chunk)
        if (added) this.totals.addedBytes += chunk.length
        else this.totals.reusedBytes += chunk.length
        blobs.push([this.ordinalOf(location), location.offset, location.length, blobId])
        this.progress?.advance(bytesRead)
      }
      if (read !== entry.size) throw this.changed(entry, `${entry.size} → ${read} bytes`)
      if (live && !stillSame(entry, (await handle.stat({bigint: true})) as BigIntStats)) throw this.changed(entry, 'rewritten in place: its times or inode moved')
    } finally {
      await handle.close()
    }
    entry.blobs = blobs
  }

  /** Files changed within a clock tick of the scan are read again once it is past: same stamps, same blobs. */
  private async recheck(racy: number[], sourceDir: string): Promise<void> {
    if (racy.length === 0) return
    const settled = Math.max(...racy.map((i) => settledAt(this.entries[i])))
    if (Date.now() < settled) await sleep(settled - Date.now() + 1)
    for (const i of racy) {
      const entry = this.entries[i]
      const before = (entry.blobs ?? []).map((ref) => ref[3])
      const file = path.join(sourceDir, ...entry.path.split('/'))
      const after = await blobIdsOf(file, this.input.chunkSize, this.input.digest)
      const st = await fs.lstat(file, {bigint: true})
      if (!stillSame(entry, st) || after.join() !== before.join()) throw this.changed(entry, 'it was being written when it was read')
    }
  }

  private changed(entry: EntryV2, how: string): OperationError {
    return new OperationError(`task ${this.input.taskId}: ${entry.path} changed while it was captured (${how}); pause the task or give it a snapshot command`)
  }

  private async openCopy(): Promise<CopyWriter | undefined> {
    if (!this.input.secondary) return undefined
    try {
      return await this.input.secondary()
    } catch (error) {
      this.copyError = messageOf(error)
      return undefined
    }
  }

  /** A secondary-copy step; a failure drops the copy, never the take (the task then recovers from the primary). */
  private async onCopy(step: (copy: CopyWriter) => Promise<void>): Promise<void> {
    if (!this.copy) return
    try {
      await step(this.copy)
    } catch (error) {
      this.copyError ??= messageOf(error)
      await this.dropCopy()
    }
  }

  private async finishCopy(chunks: () => Iterable<Buffer>, digest: string): Promise<LocalCopy | undefined> {
    const copy = this.copy
    if (!copy) return undefined
    try {
      await copy.writeIndex(chunks(), digest)
      return await copy.finish(this.root)
    } catch (error) {
      this.copyError ??= messageOf(error)
      await this.dropCopy()
      return undefined
    }
  }
}

/** A small read's pooled buffer back to its pool, once its bytes are hashed, packed and copied. */
function release(pool: BufferPool, read: SmallRead): void {
  if (read.pooled) pool.release(read.pooled)
}

/** The latest moment a change of the entry may have happened (coarse clocks tick in whole seconds). */
function settledAt(entry: EntryV2): number {
  const ctimeMs = Number(BigInt(entry.ctimeNs!) / 1_000_000n)
  return ctimeMs + (ctimeMs % 1000 === 0 ? 2000 : 20)
}
