// `checkpoint export`: one task's state of one checkpoint as a plain tar, for a person or a tool
// without ckpt. Format 2: entries in index order, file bytes from this node's verified local copy
// else the primary's packs, each blob checked before it is written. Format 1: the task's own tar,
// checked against its SHA-256 as it streams. To a file through a temp name and a rename, or to a stream.
import * as fs from 'node:fs/promises'
import type {Writable} from 'node:stream'
import type {JobContext} from '../context.js'
import {resolveCheckpointId} from '../catalogue/catalogue.js'
import {readIndex, readIndexV2, readManifest} from '../catalogue/read.js'
import type {CheckpointId} from '../format/ids.js'
import type {EntryV2, TaskIndexV2} from '../format/index2.js'
import {keys} from '../format/keys.js'
import {isManifestV2, type Manifest, type ManifestV2} from '../format/manifest.js'
import {streamSink, TarWriter, type TarSink} from '../archive/export-tar.js'
import {checkBlob, readBlobs, type BlobNeed, type RangeReader} from '../archive/pack-reader.js'
import {copyIndexMatches} from '../local/copy-index.js'
import {withLock} from '../lock/lock.js'
import {PrimaryDigestError, UsageError} from '../errors.js'
import {DEFAULT_CONCURRENCY} from '../stores/store.js'
import {createHash} from '../util/crypto.js'
import {digestReady} from '../util/digest.js'
import * as path from 'node:path'

export interface ExportOptions {
  /** Checkpoint id or 'latest' (default). */
  checkpointId?: string
  taskId: string
  /** Write to this file (through FILE.ckpt-tmp-PID); else to `stream`. */
  output?: string
  stream?: Writable
  onWarning?: (message: string) => void
}

export interface ExportResult {
  checkpointId: CheckpointId
  taskId: string
  format: number
  /** The file written, or '-' for the stream. */
  output: string
  entries: number
  files: number
  /** Bytes of file content, and of the whole tar. */
  bytes: number
  tarBytes: number
  /** Where the file bytes came from: this node's local copy, or the primary. */
  localBytes: number
  remoteBytes: number
}

/** Holds a shared lock, so a prune does not remove what the export reads. */
export async function exportTask(ctx: JobContext, options: ExportOptions): Promise<ExportResult> {
  const checkpointId = await resolveCheckpointId(ctx.primary, ctx.job.name, options.checkpointId)
  return withLock(ctx, {mode: 'shared', purpose: 'checkpoint export', onWarning: options.onWarning}, async () => {
    const manifest = await readManifest(ctx.primary, ctx.job.name, checkpointId)
    const known = manifest.tasks.map((t: {taskId: string}) => t.taskId)
    if (!known.includes(options.taskId)) {
      throw new UsageError(`task ${options.taskId} is not in checkpoint ${checkpointId} (its tasks: ${known.join(', ') || 'none'}); see 'ckpt checkpoint show ${checkpointId}'`)
    }
    return toOutput(options, async (tar) => (isManifestV2(manifest) ? exportV2(ctx, manifest, options.taskId, tar) : exportV1(ctx, manifest, options.taskId, tar)))
  })
}

type Counts = Omit<ExportResult, 'output' | 'tarBytes'>

async function toOutput(options: ExportOptions, write: (tar: TarWriter) => Promise<Counts>): Promise<ExportResult> {
  if (!options.output) {
    const tar = new TarWriter(streamSink(options.stream ?? process.stdout))
    const counts = await write(tar)
    await tar.flush()
    return {...counts, output: '-', tarBytes: tar.bytes}
  }
  const temp = `${options.output}.ckpt-tmp-${process.pid}`
  const handle = await fs.open(temp, 'w', 0o644)
  let done = false
  try {
    const tar = new TarWriter(fileSink(handle))
    const counts = await write(tar)
    await tar.flush()
    await handle.sync()
    await handle.close()
    done = true
    await fs.rename(temp, options.output)
    return {...counts, output: path.resolve(options.output), tarBytes: tar.bytes}
  } finally {
    if (!done) await handle.close().catch(() => {})
    // a failed export leaves no file behind; the error is what is thrown
    if (!done) await fs.rm(temp, {force: true})
  }
}

/** Appends to an open file. */
function fileSink(handle: fs.FileHandle): TarSink {
  let position = 0
  return async (data) => {
    let done = 0
    while (done < data.length) done += (await handle.write(data, done, data.length - done, position + done)).bytesWritten
    position += data.length
  }
}

/** The task's own tar, checked against the manifest's size and SHA-256 as it goes out. */
async function exportV1(ctx: JobContext, manifest: Manifest, taskId: string, tar: TarWriter): Promise<Counts> {
  const record = manifest.tasks.find((t) => t.taskId === taskId)!
  const index = await readIndex(ctx.primary, manifest, record)
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of await ctx.primary.get(record.archive)) {
    hash.update(chunk as Buffer)
    size += (chunk as Buffer).length
    await tar.write(chunk as Buffer)
  }
  if (size !== record.archiveSize || hash.digest('hex') !== record.archiveSha256) {
    throw new PrimaryDigestError(
      `checkpoint ${manifest.checkpointId} task ${taskId}: the primary archive ${record.archive} does not match its size and SHA-256 in the manifest; the tar written is not to be trusted`,
    )
  }
  return {checkpointId: manifest.checkpointId, taskId, format: 1, entries: index.entries.length, files: record.files, bytes: record.bytes, localBytes: 0, remoteBytes: size}
}

async function exportV2(ctx: JobContext, manifest: ManifestV2, taskId: string, tar: TarWriter): Promise<Counts> {
  const record = manifest.tasks.find((t) => t.taskId === taskId)!
  const index = await readIndexV2(ctx.primary, manifest, record)
  await digestReady(index.digest)
  const copy = await ctx.secondary.retrieve(taskId, manifest.checkpointId)
  const localState = copy && (await copyIndexMatches(ctx.secondary.layout, copy, record)) ? copy.stateDir : undefined
  const source = new BlobSource(ctx, index, localState, `checkpoint ${manifest.checkpointId} task ${taskId}`)
  const local = await source.localFiles()
  const primary = source.primaryBlobs(index.entries.filter((e) => e.type === 'file' && !local.has(e)))
  let files = 0
  try {
    for (const entry of index.entries) {
      await tar.header(entry)
      if (entry.type === 'file') {
        files++
        if (local.has(entry)) await source.copyLocal(entry, tar)
        else for (const _ of entry.blobs ?? []) await tar.write((await primary.next()).value!.data)
      }
      await tar.close(entry)
    }
  } finally {
    await primary.return(undefined)
  }
  await tar.end()
  const bytes = index.entries.reduce((sum, e) => sum + (e.type === 'file' ? e.size : 0), 0)
  return {checkpointId: manifest.checkpointId, taskId, format: 2, entries: index.entries.length, files, bytes, localBytes: source.localBytes, remoteBytes: source.remoteBytes}
}

/** A task's blobs: from the local copy's file at the same path when it holds them, else from the primary. */
class BlobSource {
  localBytes = 0
  remoteBytes = 0
  private readonly read: RangeReader
  private readonly concurrency: number

  constructor(
    private readonly ctx: JobContext,
    private readonly index: TaskIndexV2,
    private readonly localState: string | undefined,
    private readonly where: string,
  ) {
    this.read = async (packId, offset, length) => (await ctx.primary.get(keys.pack(ctx.job.name, packId), {range: {offset, length}})) as AsyncIterable<Buffer>
    this.concurrency = ctx.settings.transfer.concurrency ?? DEFAULT_CONCURRENCY
  }

  /** Files the local copy has at the same path with the same size. */
  async localFiles(): Promise<Set<EntryV2>> {
    const found = new Set<EntryV2>()
    if (!this.localState) return found
    for (const entry of this.index.entries) {
      if (entry.type !== 'file' || entry.size === 0) continue
      // a file the copy lacks comes from the primary
      const st = await fs.lstat(this.fileOf(entry)).catch(() => undefined)
      if (st?.isFile() && st.size === entry.size) found.add(entry)
    }
    return found
  }

  /** Every blob of these files from the primary, in order, checked. */
  primaryBlobs(files: EntryV2[]): AsyncGenerator<{need: BlobNeed<null>; data: Buffer}> {
    const needs = files.flatMap((e) => (e.blobs ?? []).map(([pack, offset, length, blobId]) => ({packId: this.index.packs[pack].id, offset, length, blobId, tag: null})))
    return this.counted(readBlobs(needs, {read: this.read, digest: this.index.digest, concurrency: this.concurrency, where: this.where}))
  }

  private async *counted(blobs: AsyncGenerator<{need: BlobNeed<null>; data: Buffer}>): AsyncGenerator<{need: BlobNeed<null>; data: Buffer}> {
    for await (const blob of blobs) {
      this.remoteBytes += blob.data.length
      yield blob
    }
  }

  /** A local file blob by blob; a blob that does not match comes from the primary instead. */
  async copyLocal(entry: EntryV2, tar: TarWriter): Promise<void> {
    const handle = await fs.open(this.fileOf(entry), 'r')
    try {
      let at = 0
      for (const ref of entry.blobs ?? []) {
        const data = await this.localBlob(handle, ref[2], ref[3], at)
        at += ref[2]
        if (data) {
          this.localBytes += data.length
          await tar.write(data)
        } else {
          // the copy's blob is damaged: the primary's is written instead
          for await (const blob of this.primaryBlobs([{...entry, blobs: [ref]}])) await tar.write(blob.data)
        }
      }
    } finally {
      await handle.close()
    }
  }

  /** The blob at `position` of an open local file, or undefined when the file does not hold it there. */
  private async localBlob(handle: fs.FileHandle, length: number, blobId: string, position: number): Promise<Buffer | undefined> {
    const data = Buffer.allocUnsafe(length)
    let filled = 0
    while (filled < length) {
      const {bytesRead} = await handle.read(data, filled, length - filled, position + filled)
      if (bytesRead === 0) return undefined
      filled += bytesRead
    }
    try {
      checkBlob(data, blobId, this.index.digest, this.where)
      return data
    } catch {
      // not the blob: the caller takes it from the primary
      return undefined
    }
  }

  private fileOf(entry: EntryV2): string {
    return path.join(this.localState!, ...entry.path.split('/'))
  }
}
