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
import {indexChunks} from '../format/index-stream.js'
import {keys} from '../format/keys.js'
import {sha256, type StateRoot, type TaskRecordV2} from '../format/manifest.js'
import type {CopyWriter, LocalCopy} from '../local/secondary.js'
import type {PrimaryStore} from '../stores/store.js'
import {digestHex, type DigestAlgorithm} from '../util/digest.js'
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
  private readonly locations = new Map<number, Array<[BlobLocation, string]>>()
  private root: StateRoot | undefined
  private progress: PhaseProgress | undefined

  constructor(private readonly input: TaskDraftInput) {}

  /** This node holds the base's confirmed copy of the task, so unchanged files are linked from it. */
  hasLocalBase(): boolean {
    return this.input.base?.localState !== undefined
  }

  async capture(source: SourceV2): Promise<void> {
    const {input} = this
    const scan = source.scan ?? (await scanStateV2(source.sourceDir, `task ${input.taskId}`))
    // A stateDir that a snapshot command does not need may be missing: its snapshot folder stands in.
    this.root = await scanStateRoot(source.rootDir ?? source.sourceDir).catch(() => scanStateRoot(source.sourceDir))
    this.entries = scan.entries
    this.copy = await this.openCopy()
    const files = this.entries.filter((e) => e.type === 'file')
    this.progress = input.progress?.({bytes: files.reduce((sum, e) => sum + e.size, 0), files: files.length})
    const racy: number[] = []
    for (const [i, entry] of this.entries.entries()) {
      await this.onCopy((copy) => copy.add(entry))
      if (entry.type !== 'file') continue
      this.totals.files++
      this.totals.bytes += entry.size
      const before = input.reread ? undefined : input.baseEntries?.get(entry.path)
      const linkable = input.base?.localState
      const unchanged = before !== undefined && sameStamps(entry, before) && (!source.scan || !source.scan.copied.has(entry.path))
      if (unchanged) {
        this.reuse(i, before)
        const from = linkable ? path.join(linkable, ...entry.path.split('/')) : path.join(source.sourceDir, ...entry.path.split('/'))
        await this.onCopy((copy) => (linkable ? copy.linkFile(entry, from) : copy.copyFile(entry, from)))
        this.progress?.advance(entry.size, 1)
        continue
      }
      const file = path.join(source.sourceDir, ...entry.path.split('/'))
      await this.readFile(i, entry, file, !source.scan)
      // A paused capture's file is a private copy: linking it keeps the copy cheap.
      await this.onCopy((copy) => (source.scan ? copy.linkFile(entry, file) : copy.copyFile(entry, file)))
      if (!source.scan && entry.racy) racy.push(i)
      this.progress?.advance(0, 1)
    }
    await this.recheck(racy, source.sourceDir)
    this.progress?.end()
  }

  /** Puts the task index (every pack is durable by now) and publishes the secondary copy as pending. */
  async publish(): Promise<{record: TaskRecordV2; copy?: LocalCopy}> {
    const {input} = this
    const packs: PackRef[] = []
    const ordinals = new Map<PackHandle, number>()
    for (const [i, located] of this.locations) {
      this.entries[i].blobs = located.map(([where, blobId]): BlobRef => {
        let ordinal = ordinals.get(where.pack)
        if (ordinal === undefined) {
          ordinal = packs.push({id: where.pack.id!, size: where.pack.size}) - 1
          ordinals.set(where.pack, ordinal)
        }
        return [ordinal, where.offset, where.length, blobId]
      })
    }
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
    const raw = Buffer.concat([...indexChunks(index as unknown as {entries: unknown[]})])
    const digest = sha256(raw)
    const indexKey = keys.index(input.job, input.checkpointId, input.taskId)
    await input.primary.put(indexKey, raw)
    const record: TaskRecordV2 = {
      taskId: input.taskId,
      index: indexKey,
      indexSize: raw.length,
      indexSha256: digest,
      files: this.totals.files,
      bytes: this.totals.bytes,
      ...(input.baseId === undefined ? {} : {base: input.baseId}),
      packs: packs.length,
      packBytes: packs.reduce((sum, p) => sum + p.size, 0),
      addedBytes: this.totals.addedBytes,
      uploadedBytes: this.totals.addedBytes + raw.length,
      reusedBytes: this.totals.reusedBytes,
    }
    const copy = await this.finishCopy(raw, digest)
    return {record, copy}
  }

  /** The take failed: nothing of the copy stays. */
  async abort(): Promise<void> {
    await this.copy?.abort()
    this.copy = undefined
  }

  private reuse(i: number, before: EntryV2): void {
    const located: Array<[BlobLocation, string]> = []
    for (const [, , , blobId] of before.blobs ?? []) located.push([this.input.builder.find(blobId)!, blobId])
    this.locations.set(i, located)
    this.entries[i].blobs = undefined
    this.totals.reusedBytes += before.size
  }

  /** Reads a changed file chunk by chunk; `live` files must still show their scanned stamps after the read. */
  private async readFile(i: number, entry: EntryV2, file: string, live: boolean): Promise<void> {
    const {builder, chunkSize, digest} = this.input
    this.totals.changedFiles++
    const located: Array<[BlobLocation, string]> = []
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
        located.push([location, blobId])
        this.progress?.advance(bytesRead)
      }
      if (read !== entry.size) throw this.changed(entry, `${entry.size} → ${read} bytes`)
      if (live && !stillSame(entry, (await handle.stat({bigint: true})) as BigIntStats)) throw this.changed(entry, 'rewritten in place: its times or inode moved')
    } finally {
      await handle.close()
    }
    this.locations.set(i, located)
  }

  /** Files changed within a clock tick of the scan are read again once it is past: same stamps, same blobs. */
  private async recheck(racy: number[], sourceDir: string): Promise<void> {
    if (racy.length === 0) return
    const settled = Math.max(...racy.map((i) => settledAt(this.entries[i])))
    if (Date.now() < settled) await sleep(settled - Date.now() + 1)
    for (const i of racy) {
      const entry = this.entries[i]
      const before = this.locations.get(i)!.map(([, id]) => id)
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
      await this.abort()
    }
  }

  private async finishCopy(raw: Buffer, digest: string): Promise<LocalCopy | undefined> {
    const copy = this.copy
    if (!copy) return undefined
    try {
      await copy.writeIndex(raw, digest)
      return await copy.finish(this.root)
    } catch (error) {
      this.copyError ??= messageOf(error)
      await this.abort()
      return undefined
    }
  }
}

/** The blob ids of a file as it is now, read chunk by chunk. */
async function blobIdsOf(file: string, chunkSize: number, digest: DigestAlgorithm): Promise<string[]> {
  const handle = await fs.open(file, 'r')
  try {
    const buffer = Buffer.allocUnsafe(chunkSize)
    const ids: string[] = []
    for (let at = 0; ;) {
      const {bytesRead} = await handle.read(buffer, 0, chunkSize, at)
      if (bytesRead === 0) return ids
      ids.push(digestHex(buffer.subarray(0, bytesRead), digest))
      at += bytesRead
    }
  } finally {
    await handle.close()
  }
}

/** The latest moment a change of the entry may have happened (coarse clocks tick in whole seconds). */
function settledAt(entry: EntryV2): number {
  const ctimeMs = Number(BigInt(entry.ctimeNs!) / 1_000_000n)
  return ctimeMs + (ctimeMs % 1000 === 0 ? 2000 : 20)
}
