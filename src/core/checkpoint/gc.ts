// Format 2's packs that no kept checkpoint needs, removed only when no take could still commit a
// reference to them (docs/design/format-2.md §8.3): older than the grace period in store time,
// and no open claim younger than it.
import type {JobContext} from '../context.js'
import {mapLimit} from '../util/pool.js'
import {keys} from '../format/keys.js'
import {listOpenClaims, listPacks} from '../catalogue/catalogue.js'
import {ageMs} from '../catalogue/store-time.js'

/** What a prune did with format 2's packs (`objects` in its JSON). */
export interface PackCollection {
  /** Packs no kept checkpoint needs, removed. */
  packsDeleted: number
  /** Packs no kept checkpoint needs, left for a later prune (too young, or a take may still commit). */
  packsDeferred: number
  /** Bytes of the packs removed. */
  bytesFreed: number
  /** Why every such pack was left, when one reason holds for all of them. */
  deferredBecause?: string
}

export interface CollectOptions {
  /** Packs a kept checkpoint needs. */
  live: Set<string>
  /** Why the live set may be short (a kept checkpoint whose packs could not be read): nothing is removed. */
  liveUnknown?: string
  graceMs: number
  dryRun: boolean
  /** The store's time, read after the last listing. */
  clock: () => Promise<number>
}

export async function collectPacks(ctx: JobContext, options: CollectOptions): Promise<PackCollection> {
  const job = ctx.job.name
  const packs = await listPacks(ctx.primary, job)
  // Listed last, right before deleting: a claim made after the pack listing is seen here.
  const open = await listOpenClaims(ctx.primary, job)
  const now = await options.clock()
  const dead = [...packs].filter(([id]) => !options.live.has(id))
  const young = open.filter((c) => ageMs(now, c.claim) < options.graceMs).map((c) => c.checkpointId)
  const result: PackCollection = {packsDeleted: 0, packsDeferred: 0, bytesFreed: 0}
  const held = options.liveUnknown ?? (young.length > 0 ? `a take may still commit (open claim ${young.join(', ')} is younger than the grace period)` : undefined)
  if (held !== undefined && dead.length > 0) result.deferredBecause = held
  const doomed = held !== undefined ? [] : dead.filter(([, info]) => ageMs(now, info) > options.graceMs)
  result.packsDeferred = dead.length - doomed.length
  if (result.packsDeferred > 0 && held === undefined) result.deferredBecause = 'written within the grace period'
  await mapLimit(doomed, 8, async ([id, info]) => {
    if (!options.dryRun) await ctx.primary.delete(keys.pack(job, id))
    result.packsDeleted++
    result.bytesFreed += info.size
  })
  return result
}
