// A small hand-made writer of format-2 checkpoints (docs/FORMAT.md, "Format 2") for tests of the
// read side: every file of every task read whole, cut into chunks, packed, indexed, committed, and
// optionally a confirmed local copy (state, index.json, copy.json). No change detection, no dedup
// across takes: it only has to produce what a reader must accept.
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import type {JobContext} from '../../src/core/context.js'
import type {BlobRef, EntryV2, PackRef, TaskIndexV2} from '../../src/core/format/index2.js'
import {keys} from '../../src/core/format/keys.js'
import type {ManifestV2, StateRoot, TaskRecordV2} from '../../src/core/format/manifest.js'
import {encodePackTail, type PackBlob} from '../../src/core/format/pack.js'
import {digestHex, digestReady} from '../../src/core/util/digest.js'
import {parseCheckpointId} from '../../src/core/format/ids.js'

export interface BuildOptions {
  chunkSize?: number
  packSize?: number
  /** Write a confirmed local copy of each task too. */
  localCopy?: boolean
}

class Packer {
  packs: PackRef[] = []
  private blobs: Buffer[] = []
  private table: PackBlob[] = []
  private size = 0
  private known = new Map<string, BlobRef>()

  constructor(
    private readonly ctx: JobContext,
    private readonly packSize: number,
  ) {}

  add(data: Buffer): BlobRef {
    const id = digestHex(data, 'blake3')
    const seen = this.known.get(id)
    if (seen) return seen
    const ref: BlobRef = [this.packs.length, this.size, data.length, id]
    this.blobs.push(data)
    this.table.push([id, this.size, data.length])
    this.size += data.length
    this.known.set(id, ref)
    return ref
  }

  async flushIfFull(): Promise<void> {
    if (this.size >= this.packSize) await this.flush()
  }

  async flush(): Promise<void> {
    if (this.blobs.length === 0) return
    const body = Buffer.concat([...this.blobs, encodePackTail({format: 2, digest: 'blake3', blobs: this.table})])
    const id = digestHex(body, 'blake3')
    await this.ctx.primary.put(keys.pack(this.ctx.job.name, id), body)
    this.packs.push({id, size: body.length})
    this.blobs = []
    this.table = []
    this.size = 0
  }
}

async function walk(root: string, packer: Packer, chunkSize: number): Promise<EntryV2[]> {
  const entries: EntryV2[] = []
  const visit = async (dir: string, rel: string) => {
    for (const name of (await fs.readdir(dir)).sort()) {
      const abs = path.join(dir, name)
      const r = rel ? `${rel}/${name}` : name
      const st = await fs.lstat(abs, {bigint: true})
      const common = {path: r, mode: Number(st.mode & 0o7777n), mtimeMs: Number(st.mtimeNs / 1_000_000n), mtimeNs: String(st.mtimeNs), uid: Number(st.uid), gid: Number(st.gid)}
      if (st.isDirectory()) {
        entries.push({...common, type: 'dir', size: 0})
        await visit(abs, r)
      } else if (st.isSymbolicLink()) {
        entries.push({...common, type: 'symlink', size: 0, target: await fs.readlink(abs)})
      } else {
        const data = await fs.readFile(abs)
        const blobs: BlobRef[] = []
        for (let at = 0; at < data.length; at += chunkSize) {
          blobs.push(packer.add(data.subarray(at, at + chunkSize)))
          // A blob's pack ordinal is only known once it is flushed; the packer numbers packs in order.
          await packer.flushIfFull()
        }
        entries.push({...common, type: 'file', size: data.length, ctimeNs: String(st.ctimeNs), ino: String(st.ino), dev: String(st.dev), blobs})
      }
    }
  }
  await visit(root, '')
  return entries
}

/** Writes checkpoint `id` of format 2 for every task of the job, from their stateDirs as they are now. */
export async function buildFormat2(ctx: JobContext, id: string, options: BuildOptions = {}): Promise<ManifestV2> {
  await digestReady('blake3')
  const chunkSize = options.chunkSize ?? 1 << 20
  const job = ctx.job.name
  const checkpointId = parseCheckpointId(id)!
  const createdAt = new Date().toISOString()
  await ctx.primary.put(keys.claim(job, checkpointId), Buffer.from(JSON.stringify({checkpointId, createdAt})))
  const tasks: TaskRecordV2[] = []
  for (const task of ctx.job.tasks) {
    const packer = new Packer(ctx, options.packSize ?? 16 << 20)
    const stateDir = path.resolve(task.stateDir)
    const entries = await walk(stateDir, packer, chunkSize)
    await packer.flush()
    const st = await fs.stat(stateDir)
    const root: StateRoot = {mode: st.mode & 0o7777, mtimeMs: Math.floor(st.mtimeMs), uid: st.uid, gid: st.gid}
    const index: TaskIndexV2 = {format: 2, taskId: task.id, checkpointId, digest: 'blake3', chunkSize, node: ctx.node, fullRead: true, readsSinceFull: 0, packs: packer.packs, root, entries}
    const raw = Buffer.from(JSON.stringify(index))
    const indexKey = keys.index(job, checkpointId, task.id)
    await ctx.primary.put(indexKey, raw)
    const files = entries.filter((e) => e.type === 'file')
    const bytes = files.reduce((sum, e) => sum + e.size, 0)
    const packBytes = packer.packs.reduce((sum, p) => sum + p.size, 0)
    const indexSha256 = createHash('sha256').update(raw).digest('hex')
    tasks.push({
      taskId: task.id,
      index: indexKey,
      indexSize: raw.length,
      indexSha256,
      files: files.length,
      bytes,
      packs: packer.packs.length,
      packBytes,
      addedBytes: bytes,
      uploadedBytes: packBytes + raw.length,
      reusedBytes: 0,
    })
    if (options.localCopy) await writeCopy(ctx, task.id, checkpointId, stateDir, raw, files.length, bytes)
  }
  const manifest: ManifestV2 = {format: 2, job, checkpointId, status: 'completed', epoch: 0, digest: 'blake3', chunkSize, createdAt, completedAt: new Date().toISOString(), node: ctx.node, tasks}
  await ctx.primary.put(keys.manifest(job, checkpointId), Buffer.from(JSON.stringify(manifest)))
  return manifest
}

async function writeCopy(ctx: JobContext, taskId: string, checkpointId: string, stateDir: string, index: Buffer, files: number, bytes: number): Promise<void> {
  const layout = ctx.secondary.layout
  const dir = layout.copyDir(layout.rootFor(ctx.job.tasks.findIndex((t) => t.id === taskId)), taskId, checkpointId)
  await fs.mkdir(dir, {recursive: true})
  execFileSync('cp', ['-a', stateDir, layout.stateDir(dir)])
  await fs.writeFile(path.join(dir, 'index.json'), index)
  const now = new Date().toISOString()
  const record = {format: 2, job: ctx.job.name, taskId, checkpointId, node: ctx.node, status: 'confirmed', files, bytes, createdAt: now, confirmedAt: now, primary: ctx.secondary.primary}
  await fs.writeFile(layout.recordFile(dir), JSON.stringify(record, null, 2) + '\n')
}
