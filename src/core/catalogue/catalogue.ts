// What checkpoints the primary store holds, completed (a manifest exists) or incomplete: the only
// code that lists a job's objects and resolves `ID|latest`.
import type {ObjectInfo, PrimaryStore} from '../stores/store.js'
import {mapLimit} from '../util/pool.js'
import {StoreUnavailableError, UsageError, messageOf} from '../errors.js'
import {checkpointNumber, compareCheckpointIds, parseCheckpointId, type CheckpointId} from '../format/ids.js'
import {checkpointIdOfKey, clusterKeys, keys, packIdOfKey, prunedIdOfKey} from '../format/keys.js'
import {isAborted, parseCommitRecord, type CommitRecord, type Manifest, type ManifestV2} from '../format/manifest.js'
import {getBuffer} from '../stores/store.js'
import {ManifestError} from '../errors.js'

export interface CheckpointSummary {
  checkpointId: CheckpointId
  status: 'completed' | 'incomplete'
  createdAt: string
  tasks: number
  bytes: number
  /** The format of its commit record (absent while it has none). */
  format?: number
  /** Its commit record is an abort record: it never completes (status 'incomplete'). */
  aborted?: true
  /** Why a manifest could not be read, for a completed checkpoint whose manifest is broken. */
  problem?: string
  manifest?: Manifest | ManifestV2
}

export interface Catalogue {
  /** Every checkpoint id seen (claims, data, manifests), oldest first. */
  all: CheckpointSummary[]
  /** Completed checkpoints, newest first. */
  completed(): CheckpointSummary[]
  highestNumber: number
}

/** The objects of one checkpoint id (its claim, data and manifest). */
export interface CheckpointObjects {
  keys: string[]
  /** A commit record exists: a manifest, or (format 2) an abort record. */
  completed: boolean
  claim?: ObjectInfo
  commit?: ObjectInfo
  firstWrite: Date
  lastWrite: Date
  /** Bytes under the checkpoint's data prefix. */
  dataBytes: number
}

/** Everything under a job's prefix, by checkpoint id, in one listing. */
export interface JobObjects {
  /** The size of every object of the job, by key. */
  sizes: Map<string, number>
  /** Each checkpoint id seen, in listing order. */
  checkpoints: Map<CheckpointId, CheckpointObjects>
  /** Checkpoints an interrupted prune had begun to remove (its pruning markers). */
  marked: Set<CheckpointId>
  /** Format 2's packs, by pack id. */
  packs: Map<string, ObjectInfo>
}

export async function listJobObjects(primary: PrimaryStore, job: string): Promise<JobObjects> {
  const objects: JobObjects = {sizes: new Map(), checkpoints: new Map(), marked: new Set(), packs: new Map()}
  for await (const info of primary.list(keys.jobPrefix(job))) {
    objects.sizes.set(info.key, info.size)
    const marked = prunedIdOfKey(job, info.key)
    if (marked) objects.marked.add(marked)
    const pack = packIdOfKey(job, info.key)
    if (pack) objects.packs.set(pack, info)
    const id = checkpointIdOfKey(job, info.key)
    if (!id) continue
    const entry = objects.checkpoints.get(id) ?? {keys: [], completed: false, firstWrite: info.lastModified, lastWrite: info.lastModified, dataBytes: 0}
    entry.keys.push(info.key)
    if (info.key === keys.manifest(job, id)) {
      entry.completed = true
      entry.commit = info
    }
    if (info.key === keys.claim(job, id)) entry.claim = info
    if (info.lastModified < entry.firstWrite) entry.firstWrite = info.lastModified
    if (info.lastModified > entry.lastWrite) entry.lastWrite = info.lastModified
    if (info.key.startsWith(keys.dataPrefix(job, id))) entry.dataBytes += info.size
    objects.checkpoints.set(id, entry)
  }
  return objects
}

/** Ids of completed checkpoints (manifest keys less the ones an abort record took, marked beside it), newest first. */
export async function completedIds(primary: PrimaryStore, job: string): Promise<CheckpointId[]> {
  const idsUnder = async (prefix: string) => {
    const ids: CheckpointId[] = []
    for await (const info of primary.list(prefix)) {
      const id = checkpointIdOfKey(job, info.key)
      if (id) ids.push(id)
    }
    return ids
  }
  const [committed, aborted] = await Promise.all([idsUnder(keys.manifestsPrefix(job)), idsUnder(clusterKeys.abortedPrefix(job))])
  const skip = new Set(aborted)
  return committed
    .filter((id) => !skip.has(id))
    .sort(compareCheckpointIds)
    .reverse()
}

/** The `chk-N.json` objects directly under prefix (manifests; many-node announcements), by checkpoint id. */
export async function checkpointRecords(primary: PrimaryStore, prefix: string): Promise<Map<CheckpointId, ObjectInfo>> {
  const found = new Map<CheckpointId, ObjectInfo>()
  for await (const info of primary.list(prefix)) {
    const id = parseCheckpointId(info.key.slice(prefix.length).replace(/\.json$/, ''))
    if (id && info.key === `${prefix}${id}.json`) found.set(id, info)
  }
  return found
}

/** The highest checkpoint number claimed: claims (a take leaves one per attempt) and, for hand-made stores, manifests. */
export async function highestClaimedNumber(primary: PrimaryStore, job: string): Promise<number> {
  let highest = 0
  for (const prefix of [keys.claimsPrefix(job), keys.manifestsPrefix(job)]) {
    for await (const info of primary.list(prefix)) {
      const id = checkpointIdOfKey(job, info.key)
      if (id) highest = Math.max(highest, checkpointNumber(id)!)
    }
  }
  return highest
}

/** Keys under one checkpoint's data prefix. */
export async function dataKeys(primary: PrimaryStore, job: string, id: CheckpointId): Promise<string[]> {
  const found: string[] = []
  for await (const info of primary.list(keys.dataPrefix(job, id))) found.push(info.key)
  return found
}

/** The job's lock records (lock/records.ts reads them). */
export function listLockObjects(primary: PrimaryStore, job: string): AsyncIterable<ObjectInfo> {
  return primary.list(keys.locksPrefix(job))
}

export async function readCatalogue(primary: PrimaryStore, job: string, options: {withManifests?: boolean} = {}): Promise<Catalogue> {
  const {checkpoints} = await listJobObjects(primary, job)
  const ids = [...checkpoints.keys()].sort(compareCheckpointIds)
  const all = await mapLimit(ids, 16, async (id): Promise<CheckpointSummary> => {
    const entry = checkpoints.get(id)!
    const summary: CheckpointSummary = {checkpointId: id, status: entry.completed ? 'completed' : 'incomplete', createdAt: entry.firstWrite.toISOString(), tasks: 0, bytes: entry.dataBytes}
    if (entry.completed && options.withManifests !== false) {
      try {
        const record = await readCommitRecord(primary, job, id)
        summary.format = record.format
        if (isAborted(record)) return {...summary, status: 'incomplete', aborted: true}
        summary.manifest = record
        summary.createdAt = record.createdAt
        summary.tasks = record.tasks.length
        summary.bytes = record.tasks.reduce((sum, t) => sum + t.bytes, 0)
      } catch (error) {
        if (error instanceof StoreUnavailableError) throw error
        summary.problem = messageOf(error)
      }
    }
    return summary
  })
  return {
    all,
    completed: () => all.filter((c) => c.status === 'completed').reverse(),
    highestNumber: ids.length === 0 ? 0 : checkpointNumber(ids[ids.length - 1])!,
  }
}

/** What lies under a checkpoint's commit key (a manifest of either format, or an abort record), checked against the key. */
export async function readCommitRecord(primary: PrimaryStore, job: string, id: CheckpointId): Promise<CommitRecord> {
  const record = parseCommitRecord(await getBuffer(primary, keys.manifest(job, id)), `checkpoint ${id}`)
  if (record.checkpointId !== id) throw new ManifestError(`checkpoint ${id}: the manifest at its key names checkpoint ${JSON.stringify(record.checkpointId)}`)
  if (record.job !== job) throw new ManifestError(`checkpoint ${id}: the manifest at its key names job ${JSON.stringify(record.job)}, not ${JSON.stringify(job)}`)
  return record
}

/** Format 2's packs, by pack id, from one listing of the packs prefix. */
export async function listPacks(primary: PrimaryStore, job: string): Promise<Map<string, ObjectInfo>> {
  const packs = new Map<string, ObjectInfo>()
  for await (const info of primary.list(keys.packsPrefix(job))) {
    const id = packIdOfKey(job, info.key)
    if (id) packs.set(id, info)
  }
  return packs
}

/** Claims without a commit record (a take in progress, or one that died before its commit), from a listing of both. */
export async function listOpenClaims(primary: PrimaryStore, job: string): Promise<Array<{checkpointId: CheckpointId; claim: ObjectInfo}>> {
  const claims = new Map<CheckpointId, ObjectInfo>()
  for await (const info of primary.list(keys.claimsPrefix(job))) {
    const id = checkpointIdOfKey(job, info.key)
    if (id && info.key === keys.claim(job, id)) claims.set(id, info)
  }
  for await (const info of primary.list(keys.manifestsPrefix(job))) {
    const id = checkpointIdOfKey(job, info.key)
    if (id) claims.delete(id)
  }
  return [...claims].map(([checkpointId, claim]) => ({checkpointId, claim}))
}

/** The id a user typed ('latest' is not one): exit 2 unless it is of the form chk-N. */
export function checkpointIdArgument(text: string): CheckpointId {
  const id = parseCheckpointId(text)
  if (id === undefined) throw new UsageError(`checkpoint id ${JSON.stringify(text)} is not of the form chk-N (or 'latest')`)
  return id
}

/**
 * Completed checkpoints newest first, from `ref` down (`latest` or undefined: all of them; empty
 * when the job has none). An id that is unknown or not completed is bad input (exit 2), whatever
 * the command: one check for 'checkpoint show', 'restore' and the rest.
 */
export async function completedFrom(primary: PrimaryStore, job: string, ref: string | undefined): Promise<CheckpointId[]> {
  const wanted = ref === undefined || ref === 'latest' ? undefined : checkpointIdArgument(ref)
  const completed = await completedIds(primary, job)
  if (wanted === undefined) return completed
  const at = completed.indexOf(wanted)
  if (at < 0) throw new UsageError(`checkpoint ${wanted} of job ${job} is unknown or not completed; see 'ckpt checkpoint list' for the completed ones`)
  return completed.slice(at)
}

/** Resolves "latest" or an id to a completed checkpoint id. */
export async function resolveCheckpointId(primary: PrimaryStore, job: string, ref: string | undefined): Promise<CheckpointId> {
  const [newest] = await completedFrom(primary, job, ref)
  if (newest === undefined) throw new UsageError(`job ${job} has no completed checkpoint in the primary store; take one with 'ckpt checkpoint take'`)
  return newest
}
