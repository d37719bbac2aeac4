// Takes a checkpoint: allocate an id, capture every task, write primary and secondary copies,
// commit the manifest last (create-if-absent), then confirm the secondary copies.
import {hostname} from 'node:os'
import {captureTask, type CapturedState} from '../capture/capture.js'
import type {TaskSpec} from '../config/job-file.js'
import type {JobContext} from '../context.js'
import {AlreadyExistsError, CkptError, TaskFailures, InterruptedError, NotFoundError, OperationError, StepFailedError, TransientStoreError, messageOf} from '../errors.js'
import {uninterruptible} from '../interrupt.js'
import type {LocalCopy} from '../local/copy-record.js'
import {removeDeadLeftovers} from '../local/leftovers.js'
import {withLock} from '../lock/lock.js'
import {getBuffer} from '../stores/store.js'
import {dataKeys, highestClaimedNumber} from '../catalogue/catalogue.js'
import {mapLimit} from '../util/pool.js'
import {formatCheckpointId as checkpointId, type CheckpointId} from '../format/ids.js'
import {FORMAT_1, FORMAT_2, keys} from '../format/keys.js'
import type {Manifest, ManifestV2, TaskRecord, TaskRecordV2} from '../format/manifest.js'
import {writeTasksV2, type CaptureHint, type WriteV2Result} from './take2.js'
import {writeTaskCopies, type WriteTaskResult} from './write-task.js'
import {startArchivePhase, type ProgressListener} from '../progress.js'

export interface TakeOptions {
  /** Write the primary copy only. */
  noLocal?: boolean
  onWarning?: (message: string) => void
  progress?: ProgressListener
  /** The id is claimed and the capture begins (`ckpt run` logs it). */
  onStart?: (checkpointId: string) => void
  /** Captures a task's state; the default runs its snapshot command or reads its stateDir. A format-2 take passes a hint of what changed. */
  capture?: (task: TaskSpec, checkpointId: string, hint?: CaptureHint) => Promise<CapturedState>
  /** Format 2: read every file, trusting no stamps. */
  reread?: boolean
  /** Tasks written at once. */
  parallel?: number
}

export interface TakeTaskResult {
  taskId: string
  files: number
  bytes: number
  secondary: 'written' | 'failed' | 'skipped'
  /** Bytes written to the primary for this task (archive and index; format 2: new blobs and index). */
  uploadedBytes: number
  /** Format 2: file bytes served by blobs that were already stored. */
  reusedBytes?: number
  /** Format 2: files read (the others were unchanged since the base, by their stamps). */
  changedFiles?: number
  /** Format 2: the checkpoint whose records were trusted for unchanged files. */
  base?: string
  /** Format 2: every file was read. */
  reread?: boolean
  /** Many nodes: the node that captured the task. */
  node?: string
  warning?: string
}

export interface TakeResult {
  checkpointId: CheckpointId
  status: 'completed'
  durationMs: number
  tasks: TakeTaskResult[]
  /** The format written (1 or 2). */
  format: number
  /** Bytes put in the primary store (format 1: archives and indexes; format 2: packs and indexes). */
  uploadedBytes: number
  /** Format 2: file bytes served by blobs already stored. */
  reusedBytes?: number
  /** Format 2: what computes the digest ('native', 'wasm' or 'node'). */
  digestImplementation?: string
  /** Format 2: packs of the base that were mostly garbage, whose live content this take stored again (compaction). */
  repackedPacks?: number
  /** Many nodes: the running participants took the checkpoint for this command. */
  takenBy?: 'participants'
}

/** Claims the next checkpoint id with create-if-absent, so two takes never share one. */
export async function allocateCheckpointId(ctx: JobContext): Promise<CheckpointId> {
  // Every attempt leaves a claim and prune never removes the highest one, so claims (and, to be
  // safe against hand-made stores, manifests) hold the highest id; data need not be listed.
  const highest = await highestClaimedNumber(ctx.primary, ctx.job.name)
  const claim = {node: ctx.node, host: hostname(), pid: process.pid, startedAt: new Date().toISOString()}
  for (let n = highest + 1; n < highest + 1000; n++) {
    const id = checkpointId(n)
    try {
      await ctx.primary.createIfAbsent(keys.claim(ctx.job.name, id), Buffer.from(JSON.stringify({checkpointId: id, ...claim})))
      return id
    } catch (error) {
      if (!(error instanceof AlreadyExistsError)) throw error
    }
  }
  throw new OperationError('could not claim a checkpoint id after 1000 tries; is another process taking checkpoints in a loop?')
}

/** Holds a shared job lock throughout, so a prune (exclusive) never removes what this take writes. */
export async function takeCheckpoint(ctx: JobContext, options: TakeOptions = {}): Promise<TakeResult> {
  return withLock(ctx, {mode: 'shared', purpose: 'take', onWarning: options.onWarning}, () => takeLocked(ctx, options))
}

async function takeLocked(ctx: JobContext, options: TakeOptions): Promise<TakeResult> {
  const started = Date.now()
  await removeDeadLeftovers(ctx).catch((error) => options.onWarning?.(`leftovers of earlier takes: ${messageOf(error)}`))
  const id = await allocateCheckpointId(ctx)
  options.onStart?.(id)
  if (ctx.job.checkpoint.format === 2) return takeV2(ctx, id, started, options)
  const written = await writeTasks(ctx, id, options)
  const manifest: Manifest = {
    format: FORMAT_1,
    job: ctx.job.name,
    checkpointId: id,
    createdAt: new Date(started).toISOString(),
    completedAt: new Date().toISOString(),
    node: ctx.node,
    tasks: written.map((w) => w.record),
  }
  await commit(ctx, id, Buffer.from(JSON.stringify(manifest, null, 1)), copiesOf(written), options)
  const tasks = await confirmCopies(ctx, written, options)
  await pruneLocal(ctx, options)
  const uploadedBytes = tasks.reduce((sum, t) => sum + t.uploadedBytes, 0)
  return {checkpointId: id, status: 'completed', durationMs: Date.now() - started, tasks, format: FORMAT_1, uploadedBytes}
}

async function takeV2(ctx: JobContext, id: CheckpointId, started: number, options: TakeOptions): Promise<TakeResult> {
  let written: WriteV2Result
  try {
    written = await writeTasksV2(ctx, id, {
      noLocal: options.noLocal,
      reread: options.reread,
      parallel: options.parallel,
      onWarning: options.onWarning,
      progress: options.progress,
      capture: async (task, chk, hint) => (options.capture ?? ((t: TaskSpec, c: string) => captureTask(ctx.job, t, c)))(task, chk, hint),
    })
  } catch (error) {
    await discardPrimary(ctx, id)
    throw failureOf(id, error instanceof TaskFailures ? error.failures : [error])
  }
  const manifest: ManifestV2 = {
    format: FORMAT_2,
    job: ctx.job.name,
    checkpointId: id,
    status: 'completed',
    epoch: 0,
    digest: written.config.digest,
    chunkSize: written.config.chunkSize,
    createdAt: new Date(started).toISOString(),
    completedAt: new Date().toISOString(),
    node: ctx.node,
    tasks: written.tasks.map((w) => w.record),
  }
  try {
    await withinHalfGrace(ctx, id, written)
  } catch (error) {
    await discardAttempt(ctx, id, copiesOf(written.tasks))
    throw error
  }
  await commit(ctx, id, Buffer.from(JSON.stringify(manifest, null, 1)), copiesOf(written.tasks), options)
  const confirmed = await confirmCopies(ctx, written.tasks, options)
  const tasks = confirmed.map((t, i): TakeTaskResult => {
    const {record, totals, reread} = written.tasks[i]
    return {...t, uploadedBytes: record.uploadedBytes, reusedBytes: record.reusedBytes, changedFiles: totals.changedFiles, reread, ...(record.base ? {base: record.base} : {})}
  })
  await pruneLocal(ctx, options)
  const reusedBytes = tasks.reduce((sum, t) => sum + (t.reusedBytes ?? 0), 0)
  return {
    checkpointId: id,
    status: 'completed',
    durationMs: Date.now() - started,
    tasks,
    format: FORMAT_2,
    uploadedBytes: written.uploadedBytes,
    reusedBytes,
    repackedPacks: written.repackedPacks,
    digestImplementation: written.digestImplementation,
  }
}

/**
 * A format-2 take commits only within half the grace period of its claim, measured in the store's
 * own time (the claim's and the indexes' write times): a prune deletes an unreferenced pack only
 * when it is older than the grace period and no claim younger than it is open, so the content this
 * take reuses cannot have gone meanwhile, even if this process was suspended. Grace 0 (tests) checks nothing.
 */
async function withinHalfGrace(ctx: JobContext, id: CheckpointId, written: WriteV2Result): Promise<void> {
  const graceMs = ctx.job.checkpoint.graceMs
  if (graceMs <= 0) return
  const claim = await ctx.primary.stat(keys.claim(ctx.job.name, id))
  const stats = await Promise.all(written.tasks.map((t) => ctx.primary.stat(t.record.index)))
  const last = Math.max(...stats.map((st) => st?.lastModified.getTime() ?? 0))
  if (!claim || last === 0) throw new OperationError(`checkpoint ${id}: its claim or indexes are gone from the primary store before the commit; not committed`)
  const elapsed = last - claim.lastModified.getTime()
  if (elapsed > graceMs / 2) {
    throw new OperationError(
      `checkpoint ${id}: not committed: it took ${Math.round(elapsed / 1000)} s in the primary store's time, more than half the grace period (checkpoint.grace ${Math.round(graceMs / 1000)} s), so a prune may have removed content it reuses; take it again, or raise checkpoint.grace`,
    )
  }
}

async function pruneLocal(ctx: JobContext, options: TakeOptions): Promise<void> {
  if (options.noLocal) return
  await ctx.secondary
    .prune(
      ctx.job.retain.local,
      ctx.job.tasks.map((t) => t.id),
    )
    .catch((error) => options.onWarning?.(`local retention: ${messageOf(error)}`))
}

/**
 * Captures and writes every task's copies. After the first failure no further task starts; the
 * tasks in flight finish, every failure among them is reported, and the attempt is discarded.
 */
async function writeTasks(ctx: JobContext, id: CheckpointId, options: TakeOptions): Promise<WriteTaskResult[]> {
  const done: WriteTaskResult[] = []
  const failures: Array<{index: number; error: unknown}> = []
  try {
    return await mapLimit(ctx.job.tasks, options.parallel ?? 4, async (task, index) => {
      try {
        const result = await writeTask(ctx, task, index, id, options)
        done.push(result)
        return result
      } catch (error) {
        failures.push({index, error})
        throw error
      }
    })
  } catch {
    await discardAttempt(ctx, id, copiesOf(done))
    throw failureOf(
      id,
      failures.sort((a, b) => a.index - b.index).map((f) => f.error),
    )
  }
}

async function writeTask(ctx: JobContext, task: TaskSpec, index: number, id: CheckpointId, options: TakeOptions): Promise<WriteTaskResult> {
  const captured = await (options.capture ?? ((t: TaskSpec, chk: string) => captureTask(ctx.job, t, chk)))(task, id)
  try {
    return await writeTaskCopies({
      primary: ctx.primary,
      job: ctx.job.name,
      checkpointId: id,
      taskId: task.id,
      sourceDir: captured.sourceDir,
      rootDir: captured.rootDir,
      secondary: options.noLocal ? undefined : () => ctx.secondary.store(index, task.id, id),
      progress: (total) => startArchivePhase(options.progress, task.id, ctx.settings.primaryUrl, total),
    })
  } finally {
    await captured.release()
  }
}

function copiesOf(written: ReadonlyArray<{copy?: LocalCopy}>): LocalCopy[] {
  return written.flatMap((w) => (w.copy ? [w.copy] : []))
}

/** The checkpoint completed: its secondary copies are confirmed, and each task says how its copy fared. */
async function confirmCopies(ctx: JobContext, written: ReadonlyArray<{record: TaskRecord | TaskRecordV2; copy?: LocalCopy; secondaryError?: string}>, options: TakeOptions): Promise<TakeTaskResult[]> {
  const tasks: TakeTaskResult[] = []
  for (const {record, copy, secondaryError} of written) {
    let warning = secondaryError === undefined ? undefined : `task ${record.taskId}: secondary copy not written (${secondaryError}); this task will recover from the primary`
    if (copy) {
      try {
        await ctx.secondary.confirm(copy)
      } catch (error) {
        warning = `task ${record.taskId}: secondary copy could not be confirmed (${messageOf(error)})`
      }
    }
    if (warning) options.onWarning?.(warning)
    const secondary = options.noLocal ? 'skipped' : copy && !warning ? 'written' : 'failed'
    const uploadedBytes = 'archiveSize' in record ? record.archiveSize + record.indexSize : record.uploadedBytes
    tasks.push({taskId: record.taskId, files: record.files, bytes: record.bytes, secondary, uploadedBytes, ...(warning ? {warning} : {})})
  }
  return tasks
}

/**
 * Writes the manifest with create-if-absent. A failed write may still have landed (its answer
 * lost), so the outcome is resolved by reading the manifest back; primary data are removed only
 * when no manifest can name them (docs/CONTRACT.md promise 1).
 */
async function commit(ctx: JobContext, id: CheckpointId, body: Buffer, copies: LocalCopy[], options: TakeOptions): Promise<void> {
  const key = keys.manifest(ctx.job.name, id)
  let failure: unknown
  try {
    // The commit is not cut in half by an interruption, and never starts after one (the lock may be gone).
    await uninterruptible(() => ctx.primary.createIfAbsent(key, body))
    return
  } catch (error) {
    if (error instanceof InterruptedError) throw error
    failure = error
  }
  const found = await readBack(ctx, key, body)
  if (found === 'ours') {
    options.onWarning?.(`checkpoint ${id}: the answer to the commit was lost (${messageOf(failure)}); the manifest read back is this take's, so the checkpoint is completed`)
    return
  }
  await discardSecondary(ctx, copies)
  if (found === 'other') throw new OperationError(`checkpoint ${id}: a manifest already exists; another process committed this id`, {cause: failure})
  // Only a refusal is sure not to land later; a timeout, reset or 5xx may commit after the read.
  if (found === 'absent' && !(failure instanceof TransientStoreError) && !(failure instanceof AlreadyExistsError)) {
    await discardPrimary(ctx, id)
    throw failure
  }
  const why = found === 'absent' ? 'the manifest is not there yet, but the write may still land' : `reading the manifest back failed too: ${found.unreadable}`
  throw new StepFailedError(
    `checkpoint ${id}: the commit's outcome is unknown (${messageOf(failure)}; ${why}); its primary data are left in place: 'ckpt checkpoint list' shows whether it completed, and 'ckpt checkpoint prune' removes it if it did not`,
    failure,
  )
}

/** Whether the manifest at key is the one this take wrote, another one, absent, or unreadable now. */
async function readBack(ctx: JobContext, key: string, body: Buffer): Promise<'ours' | 'other' | 'absent' | {unreadable: string}> {
  try {
    return (await getBuffer(ctx.primary, key)).equals(body) ? 'ours' : 'other'
  } catch (error) {
    return error instanceof NotFoundError ? 'absent' : {unreadable: messageOf(error)}
  }
}

/** A failed attempt leaves no secondary copy and, as far as it can, no primary data; its claim stays so the id is never reused. */
async function discardAttempt(ctx: JobContext, id: CheckpointId, copies: LocalCopy[]): Promise<void> {
  await discardSecondary(ctx, copies)
  await discardPrimary(ctx, id)
}

async function discardSecondary(ctx: JobContext, copies: LocalCopy[]): Promise<void> {
  await ctx.secondary.abort(copies)
}

/** Only for an attempt whose manifest was never written or surely refused: no manifest can name these data. */
async function discardPrimary(ctx: JobContext, id: CheckpointId): Promise<void> {
  try {
    const doomed = await dataKeys(ctx.primary, ctx.job.name, id)
    await mapLimit(doomed, 8, (key) => ctx.primary.delete(key))
  } catch {
    // prune removes what is left of an incomplete checkpoint
  }
}

/** Every task's failure in one message; the exit code and code are the first failure's. */
export function failureOf(id: string, failures: unknown[]): CkptError {
  return new StepFailedError(`checkpoint ${id} failed: ${failures.map(messageOf).join('; ')}`, failures[0])
}
