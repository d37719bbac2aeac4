// Format-2 checkpoints built by hand in a primary (packs, task indexes, manifests, claims, abort
// records), for prune, verify and list tests that must not depend on the writer.
import {createHash} from 'node:crypto'
import type {PrimaryStore} from '../../src/core/stores/store.js'
import {keys} from '../../src/core/format/keys.js'
import {encodePackTail, type PackBlob} from '../../src/core/format/pack.js'
import type {BlobRef, EntryV2, TaskIndexV2} from '../../src/core/format/index2.js'
import type {AbortRecord, ManifestV2, TaskRecordV2} from '../../src/core/format/manifest.js'
import {digestHex, digestReady, type DigestAlgorithm} from '../../src/core/util/digest.js'
import type {CheckpointId} from '../../src/core/format/ids.js'

/** A task's files: path → content. */
export type HandTask = Record<string, Buffer | string>

interface Location {
  pack: string
  offset: number
  length: number
}

export interface HandCheckpoint {
  checkpointId: CheckpointId
  manifest: ManifestV2
  /** Every pack its indexes name. */
  packs: string[]
  /** The packs this checkpoint wrote. */
  newPacks: string[]
}

/** Writes format-2 checkpoints one after another; each reuses the blobs of those before it (its base). */
export class HandWriter {
  private readonly known = new Map<string, Location>()
  constructor(
    readonly primary: PrimaryStore,
    readonly job: string,
    readonly options: {digest?: DigestAlgorithm; chunkSize?: number} = {},
  ) {}

  get digest(): DigestAlgorithm {
    return this.options.digest ?? 'blake3'
  }

  /** Claims the id, puts new blobs in one new pack, writes each task's index, and commits (unless commit is false). */
  async checkpoint(id: CheckpointId, tasks: Record<string, HandTask>, options: {commit?: boolean; base?: string} = {}): Promise<HandCheckpoint> {
    await digestReady(this.digest)
    const chunkSize = this.options.chunkSize ?? 1 << 20
    await this.primary.put(keys.claim(this.job, id), Buffer.from(JSON.stringify({checkpointId: id, node: 'hand', startedAt: new Date().toISOString()})))
    const fresh: Array<[string, Buffer]> = []
    const blobsOf = (content: Buffer) => {
      const ids: Array<[string, Buffer]> = []
      for (let at = 0; at < content.length; at += chunkSize) {
        const blob = content.subarray(at, at + chunkSize)
        ids.push([digestHex(blob, this.digest), blob])
      }
      return ids
    }
    for (const files of Object.values(tasks)) {
      for (const content of Object.values(files)) {
        for (const [blobId, blob] of blobsOf(Buffer.from(content))) if (!this.known.has(blobId) && !fresh.some(([b]) => b === blobId)) fresh.push([blobId, blob])
      }
    }
    const newPacks = fresh.length > 0 ? [await this.writePack(fresh)] : []
    const records: TaskRecordV2[] = []
    for (const [taskId, files] of Object.entries(tasks)) records.push(await this.writeIndex(id, taskId, files, blobsOf, chunkSize, options.base, newPacks))
    const manifest: ManifestV2 = {
      format: 2,
      job: this.job,
      checkpointId: id,
      status: 'completed',
      epoch: 0,
      digest: this.digest,
      chunkSize,
      createdAt: new Date().toISOString(),
      completedAt: new Date().toISOString(),
      node: 'hand',
      tasks: records,
    }
    if (options.commit !== false) await this.primary.createIfAbsent(keys.manifest(this.job, id), Buffer.from(JSON.stringify(manifest)))
    const packs = [...new Set(records.flatMap((r) => this.tables.get(`${id}/${r.taskId}`)!))]
    return {checkpointId: id, manifest, packs, newPacks}
  }

  /** Writes an abort record under the id's commit key (and its claim). */
  async abort(id: CheckpointId, reason = 'by hand'): Promise<void> {
    await this.primary.put(keys.claim(this.job, id), Buffer.from(JSON.stringify({checkpointId: id, node: 'hand'})))
    const record: AbortRecord = {format: 2, job: this.job, checkpointId: id, status: 'aborted', epoch: 0, reason, abortedAt: new Date().toISOString(), node: 'hand'}
    await this.primary.createIfAbsent(keys.manifest(this.job, id), Buffer.from(JSON.stringify(record)))
  }

  /** Pack ids each task index names, by `chk-N/task`. */
  readonly tables = new Map<string, string[]>()

  private async writePack(blobs: Array<[string, Buffer]>): Promise<string> {
    const listed: PackBlob[] = []
    let offset = 0
    for (const [blobId, blob] of blobs) {
      listed.push([blobId, offset, blob.length])
      offset += blob.length
    }
    const bytes = Buffer.concat([...blobs.map(([, b]) => b), encodePackTail({format: 2, digest: this.digest, blobs: listed})])
    const packId = digestHex(bytes, this.digest)
    await this.primary.put(keys.pack(this.job, packId), bytes)
    for (const [blobId, at, length] of listed) this.known.set(blobId, {pack: packId, offset: at, length})
    return packId
  }

  private async writeIndex(id: CheckpointId, taskId: string, files: HandTask, blobsOf: (c: Buffer) => Array<[string, Buffer]>, chunkSize: number, base: string | undefined, newPacks: string[]): Promise<TaskRecordV2> {
    const packOrder: string[] = []
    const ordinal = (pack: string) => (packOrder.includes(pack) ? packOrder.indexOf(pack) : packOrder.push(pack) - 1)
    let added = 0
    const counted = new Set<string>()
    const entries: EntryV2[] = Object.entries(files)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([path, raw]) => {
        const content = Buffer.from(raw)
        const blobs: BlobRef[] = blobsOf(content).map(([blobId]) => {
          const at = this.known.get(blobId)!
          if (newPacks.includes(at.pack) && !counted.has(blobId)) {
            counted.add(blobId)
            added += at.length
          }
          return [ordinal(at.pack), at.offset, at.length, blobId]
        })
        return {path, type: 'file', mode: 0o644, size: content.length, mtimeMs: 1_700_000_000_000, mtimeNs: '1700000000000000000', ctimeNs: '1700000000000000000', ino: '1', dev: '1', uid: 0, gid: 0, blobs}
      })
    const packs = packOrder.map((p) => ({id: p, size: 0}))
    for (const p of packs) p.size = (await this.primary.stat(keys.pack(this.job, p.id)))!.size
    const index: TaskIndexV2 = {format: 2, taskId, checkpointId: id, digest: this.digest, chunkSize, node: 'hand', ...(base ? {base} : {}), fullRead: !base, readsSinceFull: 0, packs, entries}
    const bytes = Buffer.from(JSON.stringify(index))
    await this.primary.put(keys.index(this.job, id, taskId), bytes)
    this.tables.set(`${id}/${taskId}`, packOrder)
    const size = entries.reduce((s, e) => s + e.size, 0)
    return {
      taskId,
      index: keys.index(this.job, id, taskId),
      indexSize: bytes.length,
      indexSha256: createHash('sha256').update(bytes).digest('hex'),
      files: entries.length,
      bytes: size,
      ...(base ? {base} : {}),
      packs: packs.length,
      packBytes: packs.reduce((s, p) => s + p.size, 0),
      addedBytes: added,
      uploadedBytes: added + bytes.length,
      reusedBytes: size - added,
    }
  }
}
