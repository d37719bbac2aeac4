// Keeps the cluster's records few: take requests not yet answered are found by listing, and the
// records of checkpoints decided long ago (announcement, acks, answered requests) are removed.
import type {JobContext} from '../context.js'
import {clusterKeys} from '../format/keys.js'
import {mapLimit} from '../util/pool.js'
import {listAnnouncements, outcomeOf} from './commit.js'
import {readRecord, type Announcement} from './records.js'

/** Announcements kept (decided or not) for `ckpt status` and late readers. */
const KEPT = 10

/** Ids of `ckpt checkpoint take` requests that no announcement answers yet. */
export async function openRequests(ctx: JobContext): Promise<string[]> {
  const prefix = clusterKeys.requestsPrefix(ctx.job.name)
  const asked = new Set<string>()
  const answered = new Set<string>()
  for await (const info of ctx.primary.list(prefix)) {
    const name = info.key.slice(prefix.length)
    if (name.endsWith('.answer.json')) answered.add(name.slice(0, -'.answer.json'.length))
    else if (name.endsWith('.json')) asked.add(name.slice(0, -'.json'.length))
  }
  return [...asked].filter((r) => !answered.has(r)).sort()
}

/** Removes the records of decided checkpoints older than the newest KEPT announcements. */
export async function cleanUpDecided(ctx: JobContext): Promise<void> {
  const job = ctx.job.name
  const announced = await listAnnouncements(ctx)
  for (const {id} of announced.slice(0, Math.max(0, announced.length - KEPT))) {
    if ((await outcomeOf(ctx, id)) === undefined) continue
    const ann = await readRecord<Announcement>(ctx.primary, clusterKeys.announce(job, id))
    const doomed: string[] = []
    for await (const info of ctx.primary.list(clusterKeys.acksPrefix(job, id))) doomed.push(info.key)
    for (const r of ann?.requests ?? []) doomed.push(clusterKeys.request(job, r), clusterKeys.answer(job, r))
    await mapLimit(doomed, 8, (key) => ctx.primary.delete(key))
    // the announcement goes last: while it is there, its acks are found from it
    await ctx.primary.delete(clusterKeys.announce(job, id))
  }
}
