// 'checkpoint verify': a checker that collects every problem of every checkpoint it looks at
// (restic internal/checker): manifest, objects and sizes, index digests, and optionally the data.
import type {JobContext} from '../context.js'
import {StoreUnavailableError, UsageError, messageOf} from '../errors.js'
import {withLock} from '../lock/lock.js'
import {mapLimit} from '../util/pool.js'
import {compareCheckpointIds, type CheckpointId} from '../format/ids.js'
import {keys} from '../format/keys.js'
import {isAborted, isManifestV2, type CommitRecord, type TaskRecord} from '../format/manifest.js'
import {readIndex} from '../catalogue/read.js'
import {checkpointIdArgument, listJobObjects, readCommitRecord, type JobObjects as Listing} from '../catalogue/catalogue.js'
import {PackRun, verifyTaskV2} from './verify-packs.js'
import {indexFitProblems} from '../archive/index-fit.js'
import {checkFiles, checkWholeArchive, describeCheck, selectFiles, type DataCheck, type VerifyProblem} from './verify-data.js'
import {startPhase, type ProgressListener} from '../progress.js'

export type {VerifyProblem} from './verify-data.js'

export interface VerifyOptions {
  /** Checkpoint ids or 'latest'; default ['latest']. */
  ids?: string[]
  all?: boolean
  data?: DataCheck
  lockWaitMs?: number
  progress?: ProgressListener
  onWarning?: (message: string) => void
}

export interface CheckpointVerdict {
  checkpointId: string
  status: 'completed' | 'incomplete' | 'missing'
  /** Its commit record is an abort record: it never completes (status 'incomplete'). */
  aborted?: true
  ok: boolean
  problems: VerifyProblem[]
  filesRead: number
  bytesRead: number
}

export interface VerifyResult {
  ok: boolean
  readData: string
  checkpoints: CheckpointVerdict[]
}

interface JobObjects {
  sizes: Map<string, number>
  ids: Set<CheckpointId>
  manifests: Set<CheckpointId>
  /** Format 2's checks, sharing the listing and each pack's read. */
  packs: PackRun
}

export async function verifyCheckpoints(ctx: JobContext, options: VerifyOptions = {}): Promise<VerifyResult> {
  return withLock(ctx, {mode: 'shared', purpose: 'verify', waitMs: options.lockWaitMs, onWarning: options.onWarning}, async () => {
    const objects = await listJob(ctx)
    const targets = await chooseTargets(ctx, objects, options)
    const data = options.data ?? {kind: 'none'}
    const checkpoints = await mapLimit(targets, 2, ({id, explicit}) => verifyOne(ctx, objects, id, explicit, data, options))
    return {ok: checkpoints.every((c) => c.ok), readData: describeCheck(data), checkpoints}
  })
}

async function listJob(ctx: JobContext): Promise<JobObjects> {
  const listing: Listing = await listJobObjects(ctx.primary, ctx.job.name)
  const ids = [...listing.checkpoints.keys()]
  return {sizes: listing.sizes, ids: new Set(ids), manifests: new Set(ids.filter((id) => listing.checkpoints.get(id)!.completed)), packs: new PackRun(ctx, listing)}
}

async function chooseTargets(ctx: JobContext, objects: JobObjects, options: VerifyOptions): Promise<Array<{id: CheckpointId; explicit: boolean}>> {
  if (options.all) return [...objects.ids].sort(compareCheckpointIds).map((id) => ({id, explicit: false}))
  const newest = await newestCompleted(ctx, objects)
  const wanted = options.ids && options.ids.length > 0 ? options.ids : ['latest']
  const ids = wanted.map((id) => {
    if (id !== 'latest') return checkpointIdArgument(id)
    if (!newest) throw new UsageError(`job ${ctx.job.name} has no completed checkpoint in the primary store; nothing to verify`)
    return newest
  })
  return [...new Set(ids)].map((id) => ({id, explicit: true}))
}

/** The newest id whose commit record is not an abort record (one that cannot be read counts: verify says why). */
async function newestCompleted(ctx: JobContext, objects: JobObjects): Promise<CheckpointId | undefined> {
  for (const id of [...objects.manifests].sort(compareCheckpointIds).reverse()) {
    const record = await readCommitRecord(ctx.primary, ctx.job.name, id).catch((error) => {
      if (error instanceof StoreUnavailableError) throw error
      return undefined
    })
    if (!record || !isAborted(record)) return id
  }
  return undefined
}

async function verifyOne(ctx: JobContext, objects: JobObjects, id: CheckpointId, explicit: boolean, data: DataCheck, options: VerifyOptions): Promise<CheckpointVerdict> {
  const verdict: CheckpointVerdict = {checkpointId: id, status: 'completed', ok: true, problems: [], filesRead: 0, bytesRead: 0}
  const problem = (p: VerifyProblem) => verdict.problems.push(p)
  if (!objects.manifests.has(id) && explicit && (await ctx.primary.stat(keys.manifest(ctx.job.name, id)))) objects.manifests.add(id)
  if (!objects.manifests.has(id)) {
    verdict.status = objects.ids.has(id) ? 'incomplete' : 'missing'
    if (verdict.status === 'missing') problem({problem: `checkpoint ${id} is not in the primary store`})
    else if (explicit) problem({problem: `checkpoint ${id} is incomplete (it has no manifest): it was never committed and is never restored`})
    verdict.ok = verdict.problems.length === 0
    return verdict
  }
  const manifestKey = keys.manifest(ctx.job.name, id)
  let record: CommitRecord | undefined
  try {
    record = await readCommitRecord(ctx.primary, ctx.job.name, id)
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw error
    problem({object: manifestKey, problem: messageOf(error)})
  }
  if (record && isAborted(record)) {
    Object.assign(verdict, {status: 'incomplete', aborted: true})
    if (explicit) problem({object: manifestKey, problem: `checkpoint ${id} was aborted (${record.reason}): it never completes and is never restored`})
  } else if (record && isManifestV2(record)) {
    await mapLimit(record.tasks, 4, async (task) => {
      for (const p of await verifyTaskV2(objects.packs, id, task, data, verdict, options.progress)) problem(p)
    })
  } else if (record) {
    await mapLimit(record.tasks, 4, async (task) => {
      for (const p of await verifyTask(ctx, objects, id, task, data, verdict, options)) problem(p)
    })
  }
  verdict.ok = verdict.problems.length === 0
  return verdict
}

async function verifyTask(ctx: JobContext, objects: JobObjects, id: CheckpointId, record: TaskRecord, data: DataCheck, verdict: CheckpointVerdict, options: VerifyOptions): Promise<VerifyProblem[]> {
  const problems: VerifyProblem[] = []
  const taskId = record.taskId
  // A listing is not a snapshot: an object a take wrote after the listing passed it is asked for.
  const sizeOf = async (key: string) => objects.sizes.get(key) ?? (await ctx.primary.stat(key))?.size
  const sized = async (key: string, expected: number, what: string): Promise<boolean> => {
    const size = await sizeOf(key)
    if (size === undefined) problems.push({taskId, object: key, problem: `${what} is missing`})
    else if (size !== expected) problems.push({taskId, object: key, problem: `${what} is ${size} bytes, the manifest says ${expected}`})
    return size === expected
  }
  const archiveOk = await sized(record.archive, record.archiveSize, 'archive')
  if (!(await sized(record.index, record.indexSize, 'index'))) return problems
  let entries
  try {
    entries = (await readIndex(ctx.primary, {checkpointId: id}, record)).entries
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw error
    return [...problems, {taskId, object: record.index, problem: messageOf(error)}]
  }
  const files = entries.filter((e) => e.type === 'file')
  for (const p of indexFitProblems(record, entries)) problems.push(p.file ? {taskId, file: p.file, problem: p.problem} : {taskId, object: record.index, problem: p.problem})
  if (!archiveOk || problems.length > 0 || data.kind === 'none') return problems
  const chosen = selectFiles(data, id, taskId, files)
  const total = data.kind === 'all' ? record.archiveSize : chosen.reduce((sum, e) => sum + e.size, 0)
  const progress = startPhase(options.progress, `${id}/${taskId}`, 'verifying', {bytes: total, files: chosen.length})
  const onBytes = (n: number) => {
    verdict.bytesRead += n
    progress?.advance(n)
  }
  verdict.filesRead += chosen.length
  const found = data.kind === 'all' ? await checkWholeArchive(ctx.primary, record, chosen, onBytes) : await checkFiles(ctx.primary, record, chosen, onBytes)
  progress?.advance(0, chosen.length) // the files are known checked only once all their bytes are
  progress?.end()
  return [...problems, ...found]
}
