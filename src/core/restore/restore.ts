// Restores tasks to one checkpoint, local first, verified; falls back to older completed
// checkpoints when the primary cannot serve a task (docs/CONTRACT.md promises 4-6).
import type {JobContext} from '../context.js'
import {completedFrom} from '../catalogue/catalogue.js'
import {readIndex, readIndexV2, readManifest} from '../catalogue/read.js'
import type {CheckpointId} from '../format/ids.js'
import {CheckpointLacksTaskError, ManifestError, NotFoundError, NothingToRestoreError, PrimaryDigestError, UsageError, canFallBack, messageOf} from '../errors.js'
import {uninterruptible} from '../interrupt.js'
import {withLock} from '../lock/lock.js'
import {mapLimit} from '../util/pool.js'
import {withTaskOwner} from '../archive/owners.js'
import {findLocal, planTask, type TaskPlan, type TaskWork} from './plan.js'
import {findLocalV2, planTaskV2, type TaskWorkV2} from './plan2.js'
import {discardStaged, stageTask, type StagedTask} from './stage.js'
import {stageTaskV2} from './stage2.js'
import {isManifestV2, type Manifest, type ManifestV2} from '../format/manifest.js'
import type {EntryV2} from '../format/index2.js'
import {stateDirOf} from '../local/state-dir.js'
import {checkSwappable, swapAll} from './swap.js'
import {indexFitProblems} from '../archive/index-fit.js'
import type {ProgressListener} from '../progress.js'

export interface RestoreOptions {
  /** Checkpoint id or 'latest' (default). */
  checkpointId?: string
  /** Restore only these tasks. */
  taskIds?: string[]
  /** Print the plan, change nothing. */
  plan?: boolean
  preferRemote?: boolean
  noFallback?: boolean
  progress?: ProgressListener
  onWarning?: (message: string) => void
}

export interface Fallback {
  checkpointId: CheckpointId
  reason: string
}

export interface RestoreResult {
  checkpointId: CheckpointId
  planned: boolean
  durationMs: number
  tasks: TaskPlan[]
  /** Newer checkpoints that could not restore every task, and why. */
  fallbacks: Fallback[]
}

/** Holds a shared job lock throughout, so a prune (exclusive) never removes what this restore reads. */
export async function restoreJob(ctx: JobContext, options: RestoreOptions = {}): Promise<RestoreResult> {
  return withLock(ctx, {mode: 'shared', purpose: options.plan ? 'restore --plan' : 'restore', onWarning: options.onWarning}, () => restoreLocked(ctx, options))
}

async function restoreLocked(ctx: JobContext, options: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now()
  const tasks = selectTasks(ctx, options.taskIds)
  // An id that is unknown or not completed is bad input (exit 2), as for 'checkpoint show'.
  let candidates = await completedFrom(ctx.primary, ctx.job.name, options.checkpointId)
  if (candidates.length === 0) throw new NothingToRestoreError(`job ${ctx.job.name} has no completed checkpoint in ${ctx.primary.displayUrl}; nothing to restore`)
  if (options.noFallback) candidates = candidates.slice(0, 1)

  const fallbacks: Fallback[] = []
  for (const checkpointId of candidates) {
    try {
      const works = await loadWork(ctx, checkpointId, tasks, options.preferRemote ?? false)
      const plans = withHeldBy(ctx, works, options.plan ? await planOnly(ctx, works, checkpointId) : await stageAndSwap(ctx, works, checkpointId, options))
      return {checkpointId, planned: options.plan ?? false, durationMs: Date.now() - started, tasks: plans, fallbacks}
    } catch (error) {
      if (!canFallBack(error)) throw error
      fallbacks.push({checkpointId, reason: messageOf(error)})
      if (candidates.indexOf(checkpointId) < candidates.length - 1) {
        options.onWarning?.(`checkpoint ${checkpointId} cannot restore every task (${messageOf(error)}); falling back to an older checkpoint`)
      }
    }
  }
  const tried = fallbacks.map((f) => `${f.checkpointId}: ${f.reason}`).join('; ')
  throw new NothingToRestoreError(
    options.noFallback ? `cannot restore checkpoint ${candidates[0]} and no fallback to an older one was allowed: ${tried}` : `no completed checkpoint can restore every task: ${tried}`,
  )
}

function selectTasks(ctx: JobContext, taskIds: string[] | undefined) {
  if (!taskIds || taskIds.length === 0) return ctx.job.tasks
  return taskIds.map((id) => {
    const task = ctx.job.tasks.find((t) => t.id === id)
    if (!task) throw new UsageError(`task ${id}: job ${ctx.job.name} has no such task (tasks: ${ctx.job.tasks.map((t) => t.id).join(', ')})`)
    return task
  })
}

type Work = TaskWork | TaskWorkV2
type Tasks = JobContext['job']['tasks']

async function loadWork(ctx: JobContext, checkpointId: CheckpointId, tasks: Tasks, preferRemote: boolean): Promise<Work[]> {
  const manifest = await readManifest(ctx.primary, ctx.job.name, checkpointId)
  if (isManifestV2(manifest)) return loadWorkV2(ctx, manifest, tasks, preferRemote)
  return loadWorkV1(ctx, manifest, tasks, preferRemote)
}

async function loadWorkV1(ctx: JobContext, manifest: Manifest, tasks: Tasks, preferRemote: boolean): Promise<TaskWork[]> {
  const {checkpointId} = manifest
  return mapLimit(tasks, 4, async (task) => {
    const record = manifest.tasks.find((t) => t.taskId === task.id)
    if (!record) throw new CheckpointLacksTaskError(`task ${task.id} is not in checkpoint ${checkpointId}`)
    const index = await readIndex(ctx.primary, manifest, record)
    const misfits = indexFitProblems(record, index.entries)
    if (misfits.length > 0) {
      const more = misfits.length > 1 ? ` (and ${misfits.length - 1} more problems)` : ''
      throw new ManifestError(`checkpoint ${checkpointId} task ${task.id}: the index does not fit its archive: ${misfits[0].problem}${more}`)
    }
    const local = await findLocal(ctx, task.id, manifest, preferRemote)
    return {task, record, ...withTaskOwner(index, task.user), copy: local.copy, noLocalReason: local.reason}
  })
}

async function loadWorkV2(ctx: JobContext, manifest: ManifestV2, tasks: Tasks, preferRemote: boolean): Promise<TaskWorkV2[]> {
  const {checkpointId} = manifest
  return mapLimit(tasks, 4, async (task) => {
    const record = manifest.tasks.find((t) => t.taskId === task.id)
    if (!record) throw new CheckpointLacksTaskError(`task ${task.id} is not in checkpoint ${checkpointId}`)
    const index = await readIndexV2(ctx.primary, manifest, record)
    if (index.taskId !== task.id || index.checkpointId !== checkpointId) {
      throw new ManifestError(`checkpoint ${checkpointId} task ${task.id}: the index names task ${index.taskId} of checkpoint ${index.checkpointId}`)
    }
    const {entries, root} = withTaskOwner(index, task.user)
    const local = await findLocalV2(ctx, task.id, manifest, record, preferRemote)
    // Many nodes: a task that moved names the node that captured it (and holds its copy).
    const moved = !local.copy && !preferRemote && record.node !== undefined && record.node !== ctx.node
    const noLocalReason = moved ? `${local.reason}; node ${record.node} held it` : local.reason
    return {format: 2 as const, task, record, index, entries: entries as EntryV2[], root, copy: local.copy, noLocalReason, inPlace: !preferRemote}
  })
}

/** Many nodes: `heldBy` names the node that captured a task this node has no copy of. */
function withHeldBy(ctx: JobContext, works: Work[], plans: TaskPlan[]): TaskPlan[] {
  return plans.map((plan) => {
    const work = works.find((w) => w.task.id === plan.taskId)
    const node = work && 'format' in work && !work.copy ? work.record.node : undefined
    return node !== undefined && node !== ctx.node ? {...plan, heldBy: node} : plan
  })
}

async function planOnly(ctx: JobContext, works: Work[], checkpointId: CheckpointId): Promise<TaskPlan[]> {
  await checkStateDirs(works)
  return mapLimit(works, 4, async (work) => ('format' in work ? planTaskV2(ctx, work, await stateDirOf(work.task.stateDir), checkpointId) : planV1(ctx, work, checkpointId)))
}

/** The primary must be able to serve every byte that does not come from a verified local copy. */
async function planV1(ctx: JobContext, work: TaskWork, checkpointId: CheckpointId): Promise<TaskPlan> {
  const plan = await planTask(work, checkpointId)
  if (plan.remoteBytes === 0 && plan.source === 'local') return plan
  const info = await ctx.primary.stat(work.record.archive)
  if (!info) throw new NotFoundError(work.record.archive)
  if (info.size !== work.record.archiveSize) {
    throw new PrimaryDigestError(`checkpoint ${checkpointId} task ${plan.taskId}: primary archive is ${info.size} bytes, the manifest says ${work.record.archiveSize}`)
  }
  return plan
}

async function stageAndSwap(ctx: JobContext, works: Work[], checkpointId: CheckpointId, options: RestoreOptions): Promise<TaskPlan[]> {
  await checkStateDirs(works)
  // After the first failure no further task is staged; those in flight finish and are discarded.
  const done: StagedTask[] = []
  let staged: StagedTask[]
  try {
    staged = await mapLimit(works, 4, async (work) => {
      const one = 'format' in work ? await stageTaskV2(ctx, work, checkpointId, {progress: options.progress}) : await stageTask(ctx, work, checkpointId, {progress: options.progress})
      done.push(one)
      return one
    })
  } catch (error) {
    await discardStaged(done)
    throw error
  }
  // Every task is complete and verified: only now does any stateDir change, all of them or none;
  // an interruption waits for the swap, so no task is left between two states.
  try {
    await uninterruptible(() =>
      swapAll(
        staged.map((s) => ({taskId: s.work.task.id, stateDir: s.stateDir, stagingDir: s.stagingDir})),
        options.onWarning,
      ),
    )
  } finally {
    await discardStaged(staged)
  }
  for (const s of staged) {
    // the state is restored; a copy left pending is confirmed or pruned later (local prune)
    if (s.work.copy && s.work.copy.status !== 'confirmed') await ctx.secondary.confirm(s.work.copy).catch(() => {})
  }
  const order = new Map(works.map((w, i) => [w.task.id, i]))
  return staged.map((s) => s.plan).sort((a, b) => order.get(a.taskId)! - order.get(b.taskId)!)
}

/** Every stateDir must be one a rename can replace before any task is staged or swapped. */
async function checkStateDirs(works: Work[]): Promise<void> {
  for (const work of works) await checkSwappable(work.task.id, await stateDirOf(work.task.stateDir))
}
