// 'checkpoint verify' of format 2: every pack a task index names exists with its size (a missing
// one names every checkpoint it breaks), and with --read-data each needed pack is read once: its
// digest is its name, its trailer parses, each blob matches its id (a bad one names every file using it).
import type {JobContext} from '../context.js'
import {StoreUnavailableError, messageOf} from '../errors.js'
import {Limiter, mapLimit} from '../util/pool.js'
import type {DigestAlgorithm} from '../util/digest.js'
import type {CheckpointId} from '../format/ids.js'
import {keys} from '../format/keys.js'
import {isAborted, isManifestV2, type ManifestV2, type TaskRecordV2} from '../format/manifest.js'
import type {EntryV2, TaskIndexV2} from '../format/index2.js'
import {readPack, type PackVerdict} from './read-pack.js'
import {readCommitRecord, type JobObjects} from '../catalogue/catalogue.js'
import {readIndexV2} from '../catalogue/read.js'
import {packTablesOf, packUsers} from '../catalogue/references.js'
import {startPhase, type ProgressListener} from '../progress.js'
import {selectPacks, type BlobUse, type DataCheck, type VerifyProblem} from './verify-data.js'

/** What the checks of one verify run share: one listing, the packs' users, each pack read once. */
export class PackRun {
  private users?: Promise<Map<string, Set<CheckpointId>>>
  private blobUses?: Promise<Map<string, BlobUse[]>>
  private readonly reads = new Map<string, Promise<PackVerdict>>()
  /** Packs held in memory at once, across every task and checkpoint of the run (16 MiB each). */
  private readonly reading = new Limiter(2)
  /** The packs --read-data-subset picked, fixed for the run. */
  private readonly picked = new Map<string, boolean>()

  constructor(
    readonly ctx: JobContext,
    readonly objects: JobObjects,
  ) {}

  /** Every other completed checkpoint whose indexes name the pack. */
  async alsoBreaks(packId: string, id: CheckpointId): Promise<CheckpointId[]> {
    this.users ??= this.completedV2().then(async (manifests) => packUsers((await mapLimit(manifests, 8, (m) => packTablesOf(this.ctx.primary, m).catch(() => []))).flat()))
    return [...((await this.users).get(packId) ?? [])].filter((other) => other !== id).sort()
  }

  /** Every {checkpointId, taskId, file} of the completed checkpoints that uses one of these blobs. */
  async usesOf(blobId: string): Promise<BlobUse[]> {
    this.blobUses ??= this.completedV2().then(async (manifests) => {
      const uses = new Map<string, BlobUse[]>()
      for (const manifest of manifests) {
        for (const record of manifest.tasks) {
          const index = await readIndexV2(this.ctx.primary, manifest, record).catch(() => undefined)
          for (const entry of index?.entries ?? []) {
            for (const ref of entry.blobs ?? []) uses.set(ref[3], [...(uses.get(ref[3]) ?? []), {checkpointId: manifest.checkpointId, taskId: record.taskId, file: entry.path}])
          }
        }
      }
      return uses
    })
    return (await this.blobUses).get(blobId) ?? []
  }

  pick(check: DataCheck, packId: string): boolean {
    if (!this.picked.has(packId)) this.picked.set(packId, selectPacks(check, [packId]).length === 1)
    return this.picked.get(packId)!
  }

  /** Reads a pack once per run; `first` is true for the caller that read it. */
  read(packId: string, size: number, digest: DigestAlgorithm): {verdict: Promise<PackVerdict>; first: boolean} {
    const known = this.reads.get(packId)
    if (known) return {verdict: known, first: false}
    // The read settles its own promise, so the limiter never sees a failure and keeps starting reads.
    const verdict = new Promise<PackVerdict>(
      (resolve, reject) => void this.reading.start(() => readPack(this.ctx.primary, keys.pack(this.ctx.job.name, packId), packId, size, digest).then(resolve, reject)),
    )
    this.reads.set(packId, verdict)
    return {verdict, first: true}
  }

  private async completedV2(): Promise<ManifestV2[]> {
    const ids = [...this.objects.checkpoints].filter(([, o]) => o.completed).map(([id]) => id)
    const records = await mapLimit(ids, 16, (id) => readCommitRecord(this.ctx.primary, this.ctx.job.name, id).catch(() => undefined))
    return records.filter((r): r is ManifestV2 => r !== undefined && !isAborted(r) && isManifestV2(r))
  }
}

/** Checks one task of a format-2 checkpoint: its index, its packs, and (per `data`) their bytes. */
export async function verifyTaskV2(
  run: PackRun,
  id: CheckpointId,
  record: TaskRecordV2,
  data: DataCheck,
  counts: {filesRead: number; bytesRead: number},
  progress?: ProgressListener,
): Promise<VerifyProblem[]> {
  const {ctx, objects} = run
  const taskId = record.taskId
  const indexSize = objects.sizes.get(record.index) ?? (await ctx.primary.stat(record.index))?.size
  if (indexSize === undefined) return [{taskId, object: record.index, problem: 'index is missing'}]
  if (indexSize !== record.indexSize) return [{taskId, object: record.index, problem: `index is ${indexSize} bytes, the manifest says ${record.indexSize}`}]
  let index: TaskIndexV2
  try {
    index = await readIndexV2(ctx.primary, {checkpointId: id}, record)
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw error
    return [{taskId, object: record.index, problem: messageOf(error)}]
  }
  const problems: VerifyProblem[] = []
  for (const pack of index.packs) {
    const object = keys.pack(ctx.job.name, pack.id)
    // A listing is not a snapshot: a pack written after it passed is asked for.
    const size = objects.packs.get(pack.id)?.size ?? (await ctx.primary.stat(object))?.size
    if (size === pack.size) continue
    const problem = size === undefined ? `pack ${pack.id} is missing` : `pack ${pack.id} is ${size} bytes, the index says ${pack.size}`
    problems.push({taskId, object, problem, alsoBreaks: await run.alsoBreaks(pack.id, id)})
  }
  if (problems.length > 0 || data.kind === 'none') return problems
  return readData(run, id, index, data, counts, progress)
}

async function readData(run: PackRun, id: CheckpointId, index: TaskIndexV2, data: DataCheck, counts: {filesRead: number; bytesRead: number}, listener?: ProgressListener): Promise<VerifyProblem[]> {
  const taskId = index.taskId
  const chosen = index.packs.map((p) => run.pick(data, p.id))
  const files = index.entries.filter((e) => e.type === 'file')
  const progress = startPhase(listener, `${id}/${taskId}`, 'verifying', {bytes: index.packs.reduce((sum, p, i) => sum + (chosen[i] ? p.size : 0), 0), files: files.length})
  const verdicts = await mapLimit(index.packs, 2, async (pack, i) => {
    if (!chosen[i]) return undefined
    const {verdict, first} = run.read(pack.id, pack.size, index.digest)
    const v = await verdict
    if (first) counts.bytesRead += v.bytes
    progress?.advance(pack.size)
    return v
  })
  progress?.advance(0, files.length)
  progress?.end()
  const problems: VerifyProblem[] = []
  verdicts.forEach((v, i) => {
    for (const problem of v?.problems ?? []) problems.push({taskId, object: keys.pack(run.ctx.job.name, index.packs[i].id), problem})
  })
  for (const entry of files) {
    const refs = (entry.blobs ?? []).filter((ref) => chosen[ref[0]])
    if (refs.length === 0 && (entry.blobs ?? []).length > 0) continue
    counts.filesRead++
    for (const ref of refs) {
      const actual = verdicts[ref[0]]?.digests.get(`${ref[1]}:${ref[2]}`)
      if (actual === ref[3]) continue
      problems.push(await badBlob(run, id, index, entry, ref, actual))
    }
  }
  return problems
}

async function badBlob(run: PackRun, id: CheckpointId, index: TaskIndexV2, entry: EntryV2, ref: NonNullable<EntryV2['blobs']>[number], actual: string | undefined): Promise<VerifyProblem> {
  const pack = index.packs[ref[0]].id
  const what = actual === undefined ? 'is not a blob of the pack' : `has ${index.digest} digest ${actual.slice(0, 12)}…`
  const usedBy = await run.usesOf(ref[3])
  return {
    taskId: index.taskId,
    file: entry.path,
    object: keys.pack(run.ctx.job.name, pack),
    problem: `blob ${ref[3].slice(0, 12)}… at offset ${ref[1]} ${what}, not its id`,
    alsoBreaks: [...new Set(usedBy.map((u) => u.checkpointId))].filter((c) => c !== id).sort(),
    usedBy,
  }
}
