// 'checkpoint prune': removes checkpoints beyond retention under the job's exclusive lock.
// Order makes a kill -9 harmless: markers, then manifests, then data, then claims, then markers.
import type {JobContext} from '../context.js'
import {NewerFormatError, StoreUnavailableError, messageOf} from '../errors.js'
import {withLock} from '../lock/lock.js'
import {fileStoreOf, type StoreLeftovers} from '../stores/file-store.js'
import {mapLimit} from '../util/pool.js'
import {checkpointNumber, type CheckpointId} from '../format/ids.js'
import {keys} from '../format/keys.js'
import type {Manifest} from '../format/manifest.js'
import {listJobObjects} from '../catalogue/catalogue.js'
import {readManifestV1} from '../catalogue/read.js'
import {planPrune, referencedKeys, type PruneCandidate, type PruneDecision} from './prune-plan.js'

export interface PruneOptions {
  retain?: number
  keepWithinMs?: number
  graceMs?: number
  dryRun?: boolean
  lockWaitMs?: number
  onWarning?: (message: string) => void
}

export interface PruneResult {
  dryRun: boolean
  kept: CheckpointId[]
  removed: CheckpointId[]
  checkpoints: PruneDecision[]
  /** What interrupted writes left in a file primary (temporary files, empty folders), removed unless a dry run. */
  leftovers?: StoreLeftovers
}

export async function pruneCheckpoints(ctx: JobContext, options: PruneOptions = {}): Promise<PruneResult> {
  const run = () => prune(ctx, options)
  if (options.dryRun) return run()
  return withLock(ctx, {mode: 'exclusive', purpose: 'prune', waitMs: options.lockWaitMs, onWarning: options.onWarning}, run)
}

async function prune(ctx: JobContext, options: PruneOptions): Promise<PruneResult> {
  const job = ctx.job.name
  const {sizes, checkpoints: objects, marked} = await listJobObjects(ctx.primary, job)
  const candidates: PruneCandidate[] = await mapLimit([...objects.keys()], 16, async (id) => {
    const {completed, lastWrite} = objects.get(id)!
    const candidate: PruneCandidate = {checkpointId: id, completed, lastWriteMs: lastWrite.getTime(), marked: marked.has(id)}
    if (completed) {
      try {
        candidate.manifest = await readManifestV1(ctx.primary, job, id, 'checkpoint prune')
        candidate.unrestorable = await missingObjects(ctx, candidate.manifest, sizes)
      } catch (error) {
        // A newer ckpt's checkpoints may share data with older ones: this ckpt cannot tell what they reference.
        if (error instanceof StoreUnavailableError || error instanceof NewerFormatError) throw error
        options.onWarning?.(`checkpoint ${id} is kept: ${messageOf(error)}`)
      }
    }
    return candidate
  })
  const checkpoints = planPrune(candidates, {
    retain: options.retain ?? ctx.job.retain.primary,
    keepWithinMs: options.keepWithinMs,
    graceMs: options.graceMs ?? ctx.job.checkpoint.graceMs,
    now: Date.now(),
  })
  const removed = checkpoints.filter((d) => d.action === 'remove').map((d) => d.checkpointId)
  const kept = checkpoints.filter((d) => d.action === 'keep').map((d) => d.checkpointId)
  if (!options.dryRun) {
    const refs = referencedKeys(candidates.filter((c) => kept.includes(c.checkpointId)).map((c) => c.manifest))
    const highest = Math.max(0, ...[...objects.keys()].map((id) => checkpointNumber(id)!))
    const each = (ids: CheckpointId[], fn: (id: CheckpointId) => Promise<void>) => mapLimit(ids, 8, fn)
    await each(removed, (id) => ctx.primary.put(keys.pruning(job, id), Buffer.from(JSON.stringify({checkpointId: id, node: ctx.node, at: new Date().toISOString()}))))
    await each(removed, (id) => ctx.primary.delete(keys.manifest(job, id)))
    const data = removed.flatMap((id) => objects.get(id)!.keys.filter((key) => key.startsWith(keys.dataPrefix(job, id)) && !refs.has(key)))
    await mapLimit(data, 8, (key) => ctx.primary.delete(key))
    // The highest id's claim stays, so ids are never reused.
    await each(
      removed.filter((id) => checkpointNumber(id) !== highest),
      (id) => ctx.primary.delete(keys.claim(job, id)),
    )
    await each([...new Set([...removed, ...marked])], (id) => ctx.primary.delete(keys.pruning(job, id)))
  }
  const leftovers = await fileStoreOf(ctx.primary)?.removeLeftovers({
    prefix: keys.jobPrefix(job),
    foldersUnder: keys.dataPrefix(job),
    olderThanMs: options.graceMs ?? ctx.job.checkpoint.graceMs,
    dryRun: options.dryRun,
  })
  return {dryRun: options.dryRun ?? false, kept, removed, checkpoints, ...(leftovers ? {leftovers} : {})}
}

/** Why a checkpoint cannot be restored: an object its manifest names is missing or of another size. */
async function missingObjects(ctx: JobContext, manifest: Manifest, listed: Map<string, number>): Promise<string | undefined> {
  const problems: string[] = []
  for (const task of manifest.tasks) {
    for (const [key, expected] of [
      [task.archive, task.archiveSize],
      [task.index, task.indexSize],
    ] as const) {
      // A listing is not a snapshot (a dry run holds no lock): what it did not show is asked for.
      const size = listed.get(key) ?? (await ctx.primary.stat(key))?.size
      if (size === undefined) problems.push(`${key} is missing`)
      else if (size !== expected) problems.push(`${key} is ${size} bytes, the manifest says ${expected}`)
    }
  }
  return problems.length === 0 ? undefined : problems.join('; ')
}
