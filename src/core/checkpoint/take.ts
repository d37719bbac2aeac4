// Takes a checkpoint: allocate an id, capture every task, write primary and secondary copies,
// commit the manifest last (create-if-absent), then confirm the secondary copies.
import {hostname} from 'node:os'
import {captureTask, type CapturedState} from '../capture/capture.js'
import type {TaskSpec} from '../config/job-file.js'
import type {JobContext} from '../context.js'
import {AlreadyExistsError, CkptError, InterruptedError, NotFoundError, OperationError, StepFailedError, TransientStoreError, messageOf} from '../errors.js'
import {uninterruptible} from '../interrupt.js'
import type {LocalCopy} from '../local/secondary.js'
import {removeDeadLeftovers} from '../local/leftovers.js'
import {applyLocalRetention} from '../local/retention.js'
import {withLock} from '../lock/lock.js'
import {getBuffer} from '../stores/store.js'
import {settleLimit} from '../util/pool.js'
import {checkpointId, checkpointIdOfKey, checkpointNumber, FORMAT_VERSION, keys} from './layout.js'
import type {Manifest, TaskRecord} from './manifest.js'
import {writeTaskCopies} from './write-task.js'

export interface TakeOptions {
  /** Write the primary copy only. */
  noLocal?: boolean
  onWarning?: (message: string) => void
  onProgress?: (taskId: string, bytes: number, total: number) => void
  /** Captures a task's state; the default runs its snapshot command or reads its stateDir. */
  capture?: (task: TaskSpec, checkpointId: string) => Promise<CapturedState>
  /** Tasks written at once. */
  parallel?: number
}

export interface TakeTaskResult {
  taskId: string
  files: number
  bytes: number
  secondary: 'written' | 'failed' | 'skipped'
  warning?: string
}

export interface TakeResult {
  checkpointId: string
  status: 'completed'
  durationMs: number
  tasks: TakeTaskResult[]
}

/** Claims the next checkpoint id with create-if-absent, so two takes never share one. */
export async function allocateCheckpointId(ctx: JobContext): Promise<string> {
  let highest = 0
  // Every attempt leaves a claim and prune never removes the highest one, so claims (and, to be
  // safe against hand-made stores, manifests) hold the highest id; data need not be listed.
  for (const prefix of [keys.claimsPrefix(ctx.job.job), keys.manifestsPrefix(ctx.job.job)]) {
    for await (const info of ctx.store.list(prefix)) {
      const id = checkpointIdOfKey(ctx.job.job, info.key)
      if (id) highest = Math.max(highest, checkpointNumber(id)!)
    }
  }
  const claim = {node: ctx.node, host: hostname(), pid: process.pid, startedAt: new Date().toISOString()}
  for (let n = highest + 1; n < highest + 1000; n++) {
    const id = checkpointId(n)
    try {
      await ctx.store.put(keys.claim(ctx.job.job, id), Buffer.from(JSON.stringify({checkpointId: id, ...claim})), {ifAbsent: true})
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
  const {job, store, secondary} = ctx
  await removeDeadLeftovers(ctx).catch((error) => options.onWarning?.(`leftovers of earlier takes: ${messageOf(error)}`))
  const id = await allocateCheckpointId(ctx)
  const capture = options.capture ?? ((task: TaskSpec, chk: string) => captureTask(job, task, chk))

  const outcomes = await settleLimit(job.tasks, options.parallel ?? 4, async (task, index) => {
    const captured = await capture(task, id)
    try {
      return await writeTaskCopies({
        store,
        job: job.job,
        checkpointId: id,
        taskId: task.id,
        sourceDir: captured.sourceDir,
        rootDir: captured.rootDir,
        secondary: options.noLocal ? undefined : () => secondary.begin(secondary.rootFor(index), task.id, id),
        onProgress: (bytes, total) => options.onProgress?.(task.id, bytes, total),
      })
    } finally {
      await captured.release()
    }
  })

  const copies = outcomes.flatMap((o) => (o.status === 'fulfilled' && o.value.copy ? [o.value.copy] : []))
  const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []))
  if (failures.length > 0) {
    await discardAttempt(ctx, id, copies)
    throw failureOf(id, failures)
  }

  const records: TaskRecord[] = outcomes.map((o) => (o as PromiseFulfilledResult<{record: TaskRecord}>).value.record)
  const manifest: Manifest = {
    format: FORMAT_VERSION,
    job: job.job,
    checkpointId: id,
    createdAt: new Date(started).toISOString(),
    completedAt: new Date().toISOString(),
    node: ctx.node,
    tasks: records,
  }
  await commit(ctx, id, Buffer.from(JSON.stringify(manifest, null, 1)), copies, options)

  const tasks: TakeTaskResult[] = []
  for (const [i, outcome] of outcomes.entries()) {
    const {record, copy, secondaryError} = (outcome as PromiseFulfilledResult<{record: TaskRecord; copy?: LocalCopy; secondaryError?: string}>).value
    let warning = secondaryError === undefined ? undefined : `task ${record.taskId}: secondary copy not written (${secondaryError}); this task will recover from the primary`
    if (copy) {
      try {
        await secondary.confirm(copy)
      } catch (error) {
        warning = `task ${record.taskId}: secondary copy could not be confirmed (${messageOf(error)})`
      }
    }
    if (warning) options.onWarning?.(warning)
    tasks.push({
      taskId: job.tasks[i].id,
      files: record.files,
      bytes: record.bytes,
      secondary: options.noLocal ? 'skipped' : copy && !warning ? 'written' : 'failed',
      ...(warning ? {warning} : {}),
    })
  }
  if (!options.noLocal) {
    await applyLocalRetention(secondary, job.retain.local, job.tasks.map((t) => t.id)).catch((error) =>
      options.onWarning?.(`local retention: ${messageOf(error)}`),
    )
  }
  return {checkpointId: id, status: 'completed', durationMs: Date.now() - started, tasks}
}

/**
 * Writes the manifest with create-if-absent. A failed write may still have landed (its answer
 * lost), so the outcome is resolved by reading the manifest back; primary data are removed only
 * when no manifest can name them (docs/CONTRACT.md promise 1).
 */
async function commit(ctx: JobContext, id: string, body: Buffer, copies: LocalCopy[], options: TakeOptions): Promise<void> {
  const key = keys.manifest(ctx.job.job, id)
  let failure: unknown
  try {
    // The commit is not cut in half by an interruption, and never starts after one (the lock may be gone).
    await uninterruptible(() => ctx.store.put(key, body, {ifAbsent: true}))
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
    return (await getBuffer(ctx.store, key)).equals(body) ? 'ours' : 'other'
  } catch (error) {
    return error instanceof NotFoundError ? 'absent' : {unreadable: messageOf(error)}
  }
}

/** A failed attempt leaves no secondary copy and, as far as it can, no primary data; its claim stays so the id is never reused. */
async function discardAttempt(ctx: JobContext, id: string, copies: LocalCopy[]): Promise<void> {
  await discardSecondary(ctx, copies)
  await discardPrimary(ctx, id)
}

async function discardSecondary(ctx: JobContext, copies: LocalCopy[]): Promise<void> {
  await Promise.all(copies.map((copy) => ctx.secondary.remove(copy).catch(() => {})))
}

/** Only for an attempt whose manifest was never written or surely refused: no manifest can name these data. */
async function discardPrimary(ctx: JobContext, id: string): Promise<void> {
  try {
    const doomed: string[] = []
    for await (const info of ctx.store.list(keys.dataPrefix(ctx.job.job, id))) doomed.push(info.key)
    await Promise.all(doomed.map((key) => ctx.store.delete(key)))
  } catch {
    // prune removes what is left of an incomplete checkpoint
  }
}

/** Every task's failure in one message; the exit code and code are the first failure's. */
export function failureOf(id: string, failures: unknown[]): CkptError {
  return new StepFailedError(`checkpoint ${id} failed: ${failures.map(messageOf).join('; ')}`, failures[0])
}
