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

  private async writeIndex(
    id: CheckpointId,
    taskId: string,
    files: HandTask,
    blobsOf: (c: Buffer) => Array<[string, Buffer]>,
    chunkSize: number,
    base: string | undefined,
    newPacks: string[],
  ): Promise<TaskRecordV2> {
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
        return {
          path,
          type: 'file',
          mode: 0o644,
          size: content.length,
          mtimeMs: 1_700_000_000_000,
          mtimeNs: '1700000000000000000',
          ctimeNs: '1700000000000000000',
          ino: '1',
          dev: '1',
          uid: 0,
          gid: 0,
          blobs,
        }
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

/**
 * Each file's SHA-256, by task and path, of a completed format-2 checkpoint, rebuilt from its task
 * indexes and range reads of its packs (independent of ckpt's restore): a missing pack throws.
 */
export async function rebuildFiles(primary: PrimaryStore, job: string, id: string): Promise<Record<string, Record<string, string>>> {
  const {getBuffer} = await import('../../src/core/stores/store.js')
  const manifest = JSON.parse((await getBuffer(primary, keys.manifest(job, id as CheckpointId))).toString()) as ManifestV2
  const out: Record<string, Record<string, string>> = {}
  for (const record of manifest.tasks) {
    const index = JSON.parse((await getBuffer(primary, record.index)).toString()) as TaskIndexV2
    const files: Record<string, string> = {}
    for (const entry of index.entries.filter((e) => e.type === 'file')) {
      const hash = createHash('sha256')
      for (const [pack, offset, length] of entry.blobs ?? []) {
        if (length === 0) continue
        for await (const chunk of await primary.get(keys.pack(job, index.packs[pack].id), {range: {offset, length}})) hash.update(chunk as Buffer)
      }
      files[entry.path] = hash.digest('hex')
    }
    out[record.taskId] = files
  }
  return out
}

/** Each file's SHA-256 of the state folders, by task and path (what rebuildFiles gives back). */
export async function stateFiles(states: Record<string, string>): Promise<Record<string, Record<string, string>>> {
  const {fingerprint} = await import('./job.js')
  const out: Record<string, Record<string, string>> = {}
  for (const [taskId, dir] of Object.entries(states)) {
    out[taskId] = {}
    for (const [p, f] of Object.entries(await fingerprint(dir))) if (f.type === 'file') out[taskId][p] = f.sha256!
  }
  return out
}

/** Pack ids named by the task indexes of these checkpoints. */
export async function packsNamedBy(primary: PrimaryStore, job: string, ids: string[]): Promise<Set<string>> {
  const {getBuffer} = await import('../../src/core/stores/store.js')
  const named = new Set<string>()
  for (const id of ids) {
    const manifest = JSON.parse((await getBuffer(primary, keys.manifest(job, id as CheckpointId))).toString())
    if (manifest.format !== 2) continue
    for (const record of manifest.tasks) for (const p of JSON.parse((await getBuffer(primary, record.index)).toString()).packs) named.add(p.id)
  }
  return named
}

/** Pack ids in the primary. */
export async function storedPacks(primary: PrimaryStore, job: string): Promise<Set<string>> {
  const found = new Set<string>()
  for await (const info of primary.list(keys.packsPrefix(job))) found.add(info.key.split('/').pop()!)
  return found
}

/** A seeded PRNG (mulberry32), so a random run can be run again. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
