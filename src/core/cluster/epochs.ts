// Job-wide recoveries across nodes (docs/design/many-nodes.md "Epochs and recovery"): a new
// epoch record is the fence, every older open checkpoint is aborted, then one target record says
// which checkpoint every task restores. Each step is create-if-absent, so any participant may
// finish what another began and all of them read the same target.
import type {JobContext} from '../context.js'
import {completedIds} from '../catalogue/catalogue.js'
import {clusterKeys} from '../format/keys.js'
import {abortCheckpoint, listAnnouncements, outcomeOf} from './commit.js'
import {createRecord, currentEpoch, readRecord, type Announcement, type EpochRecord, type RestoredRecord, type TargetRecord} from './records.js'

/** Starts the next epoch (or joins one begun at the same moment) and makes sure its target is written. */
export async function beginEpoch(ctx: JobContext, reason: string, excluded: string[] = []): Promise<TargetRecord> {
  const epoch = (await currentEpoch(ctx.primary, ctx.job.name)) + 1
  const record: EpochRecord = {epoch, node: ctx.node, reason}
  await createRecord(ctx.primary, clusterKeys.epoch(ctx.job.name, epoch), record)
  return settleEpoch(ctx, epoch, excluded)
}

/** Aborts every open checkpoint of an older epoch, then reads or writes the epoch's target. */
export async function settleEpoch(ctx: JobContext, epoch: number, excluded: string[] = []): Promise<TargetRecord> {
  const existing = await readRecord<TargetRecord>(ctx.primary, clusterKeys.target(ctx.job.name, epoch))
  if (existing) return existing
  await abortOlderThan(ctx, epoch)
  const skip = new Set(excluded)
  let newest: string | undefined
  for (const id of await completedIds(ctx.primary, ctx.job.name)) {
    // an abort whose mark is not written yet is still an abort
    if (!skip.has(id) && (await outcomeOf(ctx, id)) === 'completed') {
      newest = id
      break
    }
  }
  const target: TargetRecord = {epoch, checkpointId: newest ?? null, excluded}
  if (await createRecord(ctx.primary, clusterKeys.target(ctx.job.name, epoch), target)) return target
  return (await readRecord<TargetRecord>(ctx.primary, clusterKeys.target(ctx.job.name, epoch)))!
}

/** No checkpoint announced before this epoch may complete once it began. */
async function abortOlderThan(ctx: JobContext, epoch: number): Promise<void> {
  for (const {id} of await listAnnouncements(ctx)) {
    if ((await outcomeOf(ctx, id)) !== undefined) continue
    const ann = await readRecord<Announcement>(ctx.primary, clusterKeys.announce(ctx.job.name, id))
    if (ann && ann.epoch < epoch) await abortCheckpoint(ctx, id, ann.epoch, `a job-wide recovery began (epoch ${epoch})`)
  }
}

export async function readTarget(ctx: JobContext, epoch: number): Promise<TargetRecord | undefined> {
  return readRecord<TargetRecord>(ctx.primary, clusterKeys.target(ctx.job.name, epoch))
}

export async function recordRestored(ctx: JobContext, record: RestoredRecord): Promise<void> {
  await ctx.primary.put(clusterKeys.restored(ctx.job.name, record.epoch, record.taskId), Buffer.from(JSON.stringify(record, null, 1)))
}

/** The tasks already back in an epoch. */
export async function restoredTasks(ctx: JobContext, epoch: number): Promise<Set<string>> {
  const prefix = clusterKeys.restoredPrefix(ctx.job.name, epoch)
  const done = new Set<string>()
  for await (const info of ctx.primary.list(prefix)) done.add(info.key.slice(prefix.length).replace(/\.json$/, ''))
  return done
}

/** Whether every task of the job is back in the epoch (epoch 0 has no recovery: it is complete). */
export async function epochComplete(ctx: JobContext, epoch: number): Promise<boolean> {
  if (epoch === 0) return true
  const done = await restoredTasks(ctx, epoch)
  return ctx.job.tasks.every((t) => done.has(t.id))
}
