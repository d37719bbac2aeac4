// The writing half of a format-2 take: the job's settings, the base, every task captured and its
// new blobs packed, the packs made durable, then each task's index and secondary copy. The take
// (take.ts) commits the manifest; a failure leaves packs for prune, never for reuse.
import {PackBuilder} from '../archive/pack-builder.js'
import type {CapturedState} from '../capture/capture.js'
import type {TaskSpec} from '../config/job-file.js'
import type {JobContext} from '../context.js'
import {AlreadyExistsError, NotFoundError, TaskFailures} from '../errors.js'
import type {CheckpointId} from '../format/ids.js'
import type {EntryV2} from '../format/index2.js'
import {parseJobConfig, type JobConfig} from '../format/job-config.js'
import {keys} from '../format/keys.js'
import type {TaskRecordV2} from '../format/manifest.js'
import {DEFAULT_CHUNK_SIZE, DEFAULT_PACK_SIZE} from '../format/pack.js'
import type {LocalCopy} from '../local/secondary.js'
import {getBuffer} from '../stores/store.js'
import {uninterruptible} from '../interrupt.js'
import {digestImplementation, digestReady, fallbackNote, isDigestAlgorithm, type DigestImplementation} from '../util/digest.js'
import {mapLimit} from '../util/pool.js'
import {primaryWritePhase, startPhase, type ProgressListener} from '../progress.js'
import {chooseBase, learnBase, type Base} from './base.js'
import {listPacks} from '../catalogue/catalogue.js'
import {TaskDraft, type SourceV2, type TaskTotals} from './write-task2.js'

/** What a paused capture needs to copy only what changed since the base. */
export interface CaptureHint {
  /** The base's entries of this task by path; undefined copies everything. */
  baseEntries?: Map<string, EntryV2>
  /** The base's copy of this task is on this node, so unchanged files need no copy now. */
  linkable: boolean
}

export type CaptureV2 = (task: TaskSpec, checkpointId: string, hint: CaptureHint) => Promise<CapturedState & SourceV2>

export interface WriteV2Options {
  /** The tasks to write (many nodes: this participant's); default every task of the job. */
  tasks?: TaskSpec[]
  noLocal?: boolean
  reread?: boolean
  parallel?: number
  onWarning?: (message: string) => void
  progress?: ProgressListener
  capture: CaptureV2
}

export interface WrittenV2 {
  record: TaskRecordV2
  totals: TaskTotals
  reread: boolean
  copy?: LocalCopy
  secondaryError?: string
}

export interface WriteV2Result {
  config: JobConfig
  base?: Base
  tasks: WrittenV2[]
  /** Bytes of packs and indexes put. */
  uploadedBytes: number
  /** Packs of the base that were mostly garbage, whose live content this take stored again. */
  repackedPacks: number
  digestImplementation: DigestImplementation
}

/** Notes are said once per process (a run takes many checkpoints). */
let noted = false

export async function writeTasksV2(ctx: JobContext, id: CheckpointId, options: WriteV2Options): Promise<WriteV2Result> {
  const config = await jobConfig(ctx)
  await digestReady(config.digest)
  const note = fallbackNote()
  if (note && config.digest === 'blake3' && !noted) {
    noted = true
    options.onWarning?.(note)
  }
  const base = await chooseBase(
    ctx,
    config.digest,
    config.chunkSize,
    options.onWarning,
    options.tasks?.map((t) => t.id),
  )
  const job = ctx.job.name
  const builder = new PackBuilder({digest: config.digest, packSize: config.packSize, put: (packId, body) => putPack(ctx, packId, body)})
  // One listing of the packs: content of a pack that is gone is never referenced again.
  const present = base ? await listPacks(ctx.primary, job) : undefined
  const learned = learnBase(base, builder, present)
  if (learned.missing.size > 0)
    options.onWarning?.(
      `checkpoint ${base!.id} names ${learned.missing.size} pack(s) missing from the primary store (${[...learned.missing].slice(0, 3).join(', ')}); their content is read and stored again, and 'ckpt checkpoint verify' names what they break`,
    )
  const baseEntries = learned.entries
  const reread = options.reread === true || rereadDue(ctx.job.checkpoint.rereadEvery, base)
  const tasks = options.tasks ?? ctx.job.tasks
  const drafts = tasks.map(
    (task) =>
      new TaskDraft({
        primary: ctx.primary,
        job,
        node: ctx.node,
        checkpointId: id,
        taskId: task.id,
        digest: config.digest,
        chunkSize: config.chunkSize,
        builder,
        base: base?.tasks.get(task.id),
        baseId: base?.tasks.has(task.id) ? base.id : undefined,
        baseEntries: baseEntries.get(task.id),
        reread,
        secondary: options.noLocal ? undefined : () => ctx.secondary.store(ctx.job.tasks.indexOf(task), task.id, id),
        progress: (total) => startPhase(options.progress, task.id, primaryWritePhase(ctx.settings.primaryUrl), total),
      }),
  )
  try {
    await captureAll(tasks, id, options, drafts, reread ? undefined : baseEntries, reread)
    await builder.finish()
    const published = await mapLimit(drafts, 4, (draft) => draft.publish())
    const written = published.map(({record, copy}, i): WrittenV2 => ({record, copy, totals: drafts[i].totals, reread, secondaryError: copy ? undefined : drafts[i].copyError}))
    const uploadedBytes = builder.uploadedBytes + written.reduce((sum, t) => sum + t.record.indexSize, 0)
    return {config, base, tasks: written, uploadedBytes, repackedPacks: learned.repacked.size, digestImplementation: digestImplementation(config.digest)}
  } catch (error) {
    // Packs already put stay for prune: another take may have found the same bytes there.
    await builder.finish().catch(() => {})
    for (const draft of drafts) await draft.abort()
    throw error
  }
}

/** Captures every task; after the first failure no further task starts, and every failure among the tasks in flight is reported. */
async function captureAll(
  tasks: TaskSpec[],
  id: CheckpointId,
  options: WriteV2Options,
  drafts: TaskDraft[],
  baseEntries: Map<string, Map<string, EntryV2>> | undefined,
  reread: boolean,
): Promise<void> {
  const failures: Array<{index: number; error: unknown}> = []
  await mapLimit(tasks, options.parallel ?? 4, async (task, i) => {
    try {
      const linkable = !reread && drafts[i].hasLocalBase()
      const captured = await options.capture(task, id, {baseEntries: baseEntries?.get(task.id), linkable})
      try {
        await drafts[i].capture(captured)
      } finally {
        await captured.release()
      }
    } catch (error) {
      failures.push({index: i, error})
      throw error
    }
  }).catch((error: unknown) => {
    throw failures.length > 1 ? new TaskFailures(failures.sort((a, b) => a.index - b.index).map((f) => f.error)) : error
  })
}

/** Every Nth take reads every file (`checkpoint.rereadEvery`; 0 never). */
function rereadDue(every: number, base: Base | undefined): boolean {
  if (every <= 0 || !base) return false
  return [...base.tasks.values()].some(({index}) => index.readsSinceFull + 1 >= every)
}

/** A pack is named by its digest: one already there holds the same bytes. */
async function putPack(ctx: JobContext, packId: string, body: Buffer): Promise<void> {
  try {
    // A pack (at most about 17 MiB) is written whole or not started: an interruption waits for it,
    // and one that came first stops it, so no temporary object outlives the cleanup.
    await uninterruptible(() => ctx.primary.createIfAbsent(keys.pack(ctx.job.name, packId), body))
  } catch (error) {
    if (!(error instanceof AlreadyExistsError)) throw error
  }
}

/** The job's format-2 settings: read, or written by this first format-2 take (create-if-absent: two first takes agree). */
async function jobConfig(ctx: JobContext): Promise<JobConfig> {
  const key = keys.jobConfig(ctx.job.name)
  const where = `${ctx.settings.primaryUrl} ${key}`
  try {
    return parseJobConfig(await getBuffer(ctx.primary, key), where)
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error
  }
  const digest = process.env.CKPT_DIGEST
  const config: JobConfig = {
    format: 2,
    digest: isDigestAlgorithm(digest) ? digest : 'blake3',
    chunkSize: DEFAULT_CHUNK_SIZE,
    packSize: DEFAULT_PACK_SIZE,
    createdAt: new Date().toISOString(),
    node: ctx.node,
  }
  try {
    await ctx.primary.createIfAbsent(key, Buffer.from(JSON.stringify(config, null, 1)))
    return config
  } catch (error) {
    if (!(error instanceof AlreadyExistsError)) throw error
    return parseJobConfig(await getBuffer(ctx.primary, key), where)
  }
}
