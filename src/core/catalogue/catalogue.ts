// What checkpoints the primary store holds: completed (a manifest exists) or incomplete.
import type {PrimaryStore} from '../stores/store.js'
import {mapLimit} from '../util/pool.js'
import {StoreUnavailableError, UsageError, messageOf} from '../errors.js'
import {checkpointIdOfKey, checkpointNumber, compareCheckpointIds, keys} from './layout.js'
import {readManifest, type Manifest} from './manifest.js'

export interface CheckpointSummary {
  checkpointId: string
  status: 'completed' | 'incomplete'
  createdAt: string
  tasks: number
  bytes: number
  /** Why a manifest could not be read, for a completed checkpoint whose manifest is broken. */
  problem?: string
  manifest?: Manifest
}

export interface Catalogue {
  /** Every checkpoint id seen (claims, data, manifests), oldest first. */
  all: CheckpointSummary[]
  /** Completed checkpoints, newest first. */
  completed(): CheckpointSummary[]
  highestNumber: number
}

/** Ids of completed checkpoints (manifest keys), newest first. */
export async function completedIds(store: PrimaryStore, job: string): Promise<string[]> {
  const ids: string[] = []
  for await (const info of store.list(keys.manifestsPrefix(job))) {
    const id = checkpointIdOfKey(job, info.key)
    if (id) ids.push(id)
  }
  return ids.sort(compareCheckpointIds).reverse()
}

export async function readCatalogue(store: PrimaryStore, job: string, options: {withManifests?: boolean} = {}): Promise<Catalogue> {
  const seen = new Map<string, {completed: boolean; createdAt: Date; bytes: number}>()
  for await (const info of store.list(keys.jobPrefix(job))) {
    const id = checkpointIdOfKey(job, info.key)
    if (!id) continue
    const entry = seen.get(id) ?? {completed: false, createdAt: info.lastModified, bytes: 0}
    if (info.key === keys.manifest(job, id)) entry.completed = true
    if (info.lastModified < entry.createdAt) entry.createdAt = info.lastModified
    if (info.key.startsWith(keys.dataPrefix(job, id))) entry.bytes += info.size
    seen.set(id, entry)
  }
  const ids = [...seen.keys()].sort(compareCheckpointIds)
  const all = await mapLimit(ids, 16, async (id): Promise<CheckpointSummary> => {
    const entry = seen.get(id)!
    const summary: CheckpointSummary = {checkpointId: id, status: entry.completed ? 'completed' : 'incomplete', createdAt: entry.createdAt.toISOString(), tasks: 0, bytes: entry.bytes}
    if (entry.completed && options.withManifests !== false) {
      try {
        const manifest = await readManifest(store, job, id)
        summary.manifest = manifest
        summary.createdAt = manifest.createdAt
        summary.tasks = manifest.tasks.length
        summary.bytes = manifest.tasks.reduce((sum, t) => sum + t.bytes, 0)
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

/** Resolves "latest" or an id to a completed checkpoint id. */
export async function resolveCheckpointId(store: PrimaryStore, job: string, id: string | undefined): Promise<string> {
  const completed = await completedIds(store, job)
  if (id === undefined || id === 'latest') {
    if (completed.length === 0) throw new UsageError(`job ${job} has no completed checkpoint in the primary store; take one with 'ckpt checkpoint take'`)
    return completed[0]
  }
  if (checkpointNumber(id) === undefined) throw new UsageError(`checkpoint id ${JSON.stringify(id)} is not of the form chk-N (or 'latest')`)
  if (!completed.includes(id)) throw new UsageError(`checkpoint ${id} of job ${job} is not a completed checkpoint; see 'ckpt checkpoint list'`)
  return id
}
