// 'checkpoint prune': removes checkpoints beyond retention under the job's exclusive lock, then
// format 2's packs that no kept checkpoint needs. Order makes a kill -9 harmless: markers, then
// manifests, then data, then claims, then markers, then packs (gc.ts). Ages are in store time.
import type {JobContext} from '../context.js'
import {NewerFormatError, NotFoundError, StoreUnavailableError, messageOf} from '../errors.js'
import {acquireLock} from '../lock/lock.js'
import {lockKey} from '../lock/records.js'
import {fileStoreOf, type StoreLeftovers} from '../stores/file-store.js'
import {mapLimit} from '../util/pool.js'
import {checkpointNumber, type CheckpointId} from '../format/ids.js'
import {keys} from '../format/keys.js'
import {isAborted, isManifestV2, type Manifest, type ManifestV2} from '../format/manifest.js'
import {listJobObjects, readCommitRecord, type JobObjects} from '../catalogue/catalogue.js'
import {packTablesOf} from '../catalogue/references.js'
import {storeNow} from '../catalogue/store-time.js'
import {planPrune, referencedKeys, type PruneCandidate, type PruneDecision} from './prune-plan.js'
import {collectPacks, type PackCollection} from './gc.js'

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
  /** Format 2's packs: removed, left for later, bytes freed. */
  objects: PackCollection
  /** What interrupted writes left in a file primary (temporary files, empty folders), removed unless a dry run. */
  leftovers?: StoreLeftovers
}

/** The store's time: the lock's own record, rewritten and read back; a dry run writes nothing and uses this machine's clock. */
type Clock = () => Promise<number>

export async function pruneCheckpoints(ctx: JobContext, options: PruneOptions = {}): Promise<PruneResult> {
  if (options.dryRun) return prune(ctx, options, async () => Date.now())
  const lock = await acquireLock(ctx, {mode: 'exclusive', purpose: 'prune', waitMs: options.lockWaitMs, onWarning: options.onWarning})
  try {
    const key = lockKey(ctx.job.name, lock.record.lockId)
    const clock = () => {
      lock.record.refreshedAt = new Date().toISOString()
      return storeNow(ctx.primary, key, Buffer.from(JSON.stringify(lock.record, null, 1)))
    }
    return await prune(ctx, options, clock)
  } finally {
    await lock.release()
  }
}

async function prune(ctx: JobContext, options: PruneOptions, clock: Clock): Promise<PruneResult> {
  const job = ctx.job.name
  const graceMs = options.graceMs ?? ctx.job.checkpoint.graceMs
  const objects = await listJobObjects(ctx.primary, job)
  const candidates = await mapLimit([...objects.checkpoints.keys()], 16, (id) => readCandidate(ctx, objects, id, options))
  const now = await clock()
  const checkpoints = planPrune(candidates, {retain: options.retain ?? ctx.job.retain.primary, keepWithinMs: options.keepWithinMs, graceMs, now})
  const removed = checkpoints.filter((d) => d.action === 'remove').map((d) => d.checkpointId)
  const kept = checkpoints.filter((d) => d.action === 'keep').map((d) => d.checkpointId)
  const keptCandidates = candidates.filter((c) => kept.includes(c.checkpointId))
  if (!options.dryRun)
    await removeCheckpoints(
      ctx,
      objects,
      candidates.filter((c) => removed.includes(c.checkpointId)),
      keptCandidates,
    )
  const liveUnknown = keptCandidates.find((c) => c.completed && !c.packs && !(c.manifest && !isManifestV2(c.manifest)))
  const packs = await collectPacks(ctx, {
    live: new Set(keptCandidates.flatMap((c) => c.packs ?? [])),
    liveUnknown: liveUnknown && `the packs kept checkpoint ${liveUnknown.checkpointId} needs could not be read`,
    graceMs,
    dryRun: options.dryRun ?? false,
    clock,
  })
  if (packs.deferredBecause && liveUnknown) options.onWarning?.(`no pack is removed: ${packs.deferredBecause}`)
  const leftovers = await fileStoreOf(ctx.primary)?.removeLeftovers({prefix: keys.jobPrefix(job), foldersUnder: keys.dataPrefix(job), olderThanMs: graceMs, dryRun: options.dryRun, now})
  return {dryRun: options.dryRun ?? false, kept, removed, checkpoints, objects: packs, ...(leftovers ? {leftovers} : {})}
}

/** One checkpoint id as the plan sees it: its commit record, whether it can be restored, and (format 2) the packs it needs. */
async function readCandidate(ctx: JobContext, objects: JobObjects, id: CheckpointId, options: PruneOptions): Promise<PruneCandidate> {
  const {completed, lastWrite} = objects.checkpoints.get(id)!
  const candidate: PruneCandidate = {checkpointId: id, completed, lastWriteMs: lastWrite.getTime(), marked: objects.marked.has(id)}
  if (!completed) return candidate
  try {
    const record = await readCommitRecord(ctx.primary, ctx.job.name, id)
    if (isAborted(record)) return {...candidate, completed: false, aborted: true}
    candidate.manifest = record
    candidate.unrestorable = isManifestV2(record) ? await missingV2(ctx, record, objects, candidate) : await missingObjects(ctx, record, objects.sizes)
  } catch (error) {
    // A newer ckpt's checkpoints may share data with older ones: this ckpt cannot tell what they reference.
    if (error instanceof StoreUnavailableError || error instanceof NewerFormatError) throw error
    candidate.manifest = undefined
    candidate.packs = undefined
    options.onWarning?.(`checkpoint ${id} is kept: ${messageOf(error)}`)
  }
  return candidate
}

/** Deletes what the plan removes, in the order that a kill -9 leaves harmless. */
async function removeCheckpoints(ctx: JobContext, objects: JobObjects, doomed: PruneCandidate[], kept: PruneCandidate[]): Promise<void> {
  const job = ctx.job.name
  const removed = doomed.map((c) => c.checkpointId)
  const refs = referencedKeys(kept.map((c) => c.manifest))
  const highest = Math.max(0, ...[...objects.checkpoints.keys()].map((id) => checkpointNumber(id)!))
  const notHighest = (id: CheckpointId) => checkpointNumber(id) !== highest
  const each = (ids: CheckpointId[], fn: (id: CheckpointId) => Promise<void>) => mapLimit(ids, 8, fn)
  await each(removed, (id) => ctx.primary.put(keys.pruning(job, id), Buffer.from(JSON.stringify({checkpointId: id, node: ctx.node, at: new Date().toISOString()}))))
  // An abort record goes with its claim: the highest claim stays, and so does its record.
  const commits = doomed.filter((c) => c.completed || (c.aborted && notHighest(c.checkpointId))).map((c) => c.checkpointId)
  await each(commits, (id) => ctx.primary.delete(keys.manifest(job, id)))
  const data = removed.flatMap((id) => objects.checkpoints.get(id)!.keys.filter((key) => key.startsWith(keys.dataPrefix(job, id)) && !refs.has(key)))
  await mapLimit(data, 8, (key) => ctx.primary.delete(key))
  // The highest id's claim stays, so ids are never reused.
  await each(removed.filter(notHighest), (id) => ctx.primary.delete(keys.claim(job, id)))
  await each([...new Set([...removed, ...objects.marked])], (id) => ctx.primary.delete(keys.pruning(job, id)))
}

/** Why a format-1 checkpoint cannot be restored: an object its manifest names is missing or of another size. */
async function missingObjects(ctx: JobContext, manifest: Manifest, listed: Map<string, number>): Promise<string | undefined> {
  const wanted = manifest.tasks.flatMap((task) => [[task.archive, task.archiveSize] as const, [task.index, task.indexSize] as const])
  return sizeProblems(ctx, wanted, listed)
}

/** Why a format-2 checkpoint cannot be restored (an index or a pack missing or short); records the packs it needs. */
async function missingV2(ctx: JobContext, manifest: ManifestV2, objects: JobObjects, candidate: PruneCandidate): Promise<string | undefined> {
  // Without its indexes a checkpoint cannot be restored, whatever its packs: it holds none back.
  candidate.packs = []
  const indexes = await sizeProblems(
    ctx,
    manifest.tasks.map((t) => [t.index, t.indexSize] as const),
    objects.sizes,
  )
  if (indexes) return indexes
  let tables
  try {
    tables = await packTablesOf(ctx.primary, manifest)
  } catch (error) {
    if (error instanceof NotFoundError) return messageOf(error)
    throw error
  }
  candidate.packs = [...new Set(tables.flatMap((t) => t.packs.map((p) => p.id)))]
  const packs = tables.flatMap((t) => t.packs.map((p) => [keys.pack(ctx.job.name, p.id), p.size] as const))
  const listed = new Map([...objects.packs].map(([id, info]) => [keys.pack(ctx.job.name, id), info.size]))
  return sizeProblems(ctx, [...new Map(packs)], listed)
}

async function sizeProblems(ctx: JobContext, wanted: ReadonlyArray<readonly [string, number]>, listed: Map<string, number>): Promise<string | undefined> {
  const problems: string[] = []
  for (const [key, expected] of wanted) {
    // A listing is not a snapshot (a dry run holds no lock): what it did not show is asked for.
    const size = listed.get(key) ?? (await ctx.primary.stat(key))?.size
    if (size === undefined) problems.push(`${key} is missing`)
    else if (size !== expected) problems.push(`${key} is ${size} bytes, the manifest says ${expected}`)
  }
  return problems.length === 0 ? undefined : problems.join('; ')
}
