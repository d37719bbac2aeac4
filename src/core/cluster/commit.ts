// One checkpoint across nodes (docs/design/many-nodes.md "One checkpoint"): the announcement, the
// commit that follows from the acknowledgements alone (any participant may write it; every writer
// writes the same bytes), and the abort record that takes the same key when acks are missing.
import type {JobContext} from '../context.js'
import {AlreadyExistsError, NotFoundError} from '../errors.js'
import {parseCheckpointId, type CheckpointId} from '../format/ids.js'
import {FORMAT_2, clusterKeys, keys} from '../format/keys.js'
import {isAborted, parseCommitRecord, type AbortRecord, type ManifestV2} from '../format/manifest.js'
import {getBuffer, type ObjectInfo} from '../stores/store.js'
import {ageMs} from '../catalogue/store-time.js'
import {allocateCheckpointId} from '../checkpoint/take.js'
import {createRecord, currentEpoch, readRecord, type Ack, type Announcement} from './records.js'

export type Outcome = 'completed' | 'aborted'

/** Claims the next id and announces a checkpoint of every task of the job in this epoch; answers the take requests it serves. */
export async function announceCheckpoint(ctx: JobContext, from: {epoch: number; digest: string; term: number}, requests: string[]): Promise<Announcement> {
  const id = await allocateCheckpointId(ctx)
  const announcement: Announcement = {
    checkpointId: id,
    epoch: from.epoch,
    jobDigest: from.digest,
    tasks: ctx.job.tasks.map((t) => t.id),
    node: ctx.node,
    term: from.term,
    requests,
    announcedAt: new Date().toISOString(),
  }
  // The id is this process's claim: nobody else announces it.
  await createRecord(ctx.primary, clusterKeys.announce(ctx.job.name, id), announcement)
  await Promise.all(requests.map((requestId) => createRecord(ctx.primary, clusterKeys.answer(ctx.job.name, requestId), {requestId, checkpointId: id})))
  return announcement
}

/** The announcements in the store, oldest first, with their write times. */
export async function listAnnouncements(ctx: JobContext): Promise<Array<{id: CheckpointId; info: ObjectInfo}>> {
  const found: Array<{id: CheckpointId; info: ObjectInfo}> = []
  const prefix = clusterKeys.announcePrefix(ctx.job.name)
  for await (const info of ctx.primary.list(prefix)) {
    const id = parseCheckpointId(info.key.slice(prefix.length).replace(/\.json$/, ''))
    if (id) found.push({id, info})
  }
  return found.sort((a, b) => Number(a.id.slice(4)) - Number(b.id.slice(4)))
}

/** What lies under a checkpoint's commit key: completed, aborted, or nothing yet. */
export async function outcomeOf(ctx: JobContext, id: CheckpointId): Promise<Outcome | undefined> {
  const key = keys.manifest(ctx.job.name, id)
  try {
    const record = parseCommitRecord(await getBuffer(ctx.primary, key), `${ctx.primary.displayUrl} ${key}`)
    return isAborted(record) ? 'aborted' : 'completed'
  } catch (error) {
    if (error instanceof NotFoundError) return undefined
    throw error
  }
}

/** Writes the abort record at the commit key unless a manifest is there first; says which one won. */
export async function abortCheckpoint(ctx: JobContext, id: CheckpointId, epoch: number, reason: string): Promise<Outcome> {
  const record: AbortRecord = {format: FORMAT_2, job: ctx.job.name, checkpointId: id, status: 'aborted', epoch, reason, abortedAt: new Date().toISOString(), node: ctx.node}
  try {
    await ctx.primary.createIfAbsent(keys.manifest(ctx.job.name, id), Buffer.from(JSON.stringify(record, null, 1)))
  } catch (error) {
    if (!(error instanceof AlreadyExistsError)) throw error
    const outcome = (await outcomeOf(ctx, id)) ?? 'aborted'
    if (outcome === 'completed') return outcome
  }
  // The mark lets a listing skip it unread; until it is written only a read tells (readers parse the record).
  await createRecord(ctx.primary, clusterKeys.aborted(ctx.job.name, id), {checkpointId: id})
  return 'aborted'
}

/**
 * What a participant knows of one open checkpoint: its announcement and the acks read so far, so
 * that the last acknowledger commits in two store round trips (read the missing acks, all at once;
 * create the manifest).
 */
export class OpenCheckpoint {
  readonly acks = new Map<string, {ack: Ack; info: ObjectInfo}>()
  private claimWrittenAt?: number
  /** Sequential store round trips of the last commit attempt (reported by `ckpt run`). */
  roundTrips = 0

  constructor(
    readonly ann: Announcement,
    readonly annInfo: ObjectInfo,
  ) {}

  get id(): CheckpointId {
    return this.ann.checkpointId as CheckpointId
  }

  /** Whether the announcement is older than the checkpoint timeout, in store time. */
  late(ctx: JobContext, storeNow: number): boolean {
    return ageMs(storeNow, this.annInfo) > ctx.job.checkpoint.timeoutMs
  }

  /** Reads the claim's write time ahead (it never changes), so a commit need not wait for it. */
  async prepare(ctx: JobContext): Promise<void> {
    if (this.claimWrittenAt !== undefined) return
    const claim = await ctx.primary.stat(keys.claim(ctx.job.name, this.id))
    this.claimWrittenAt = claim?.lastModified.getTime() ?? this.annInfo.lastModified.getTime()
  }

  private refreshing?: Promise<void>

  /** Reads the acks not seen yet; calls at once share one pass. */
  refresh(ctx: JobContext): Promise<void> {
    this.refreshing ??= this.readAcks(ctx).finally(() => (this.refreshing = undefined))
    return this.refreshing
  }

  /** Reads the ack of every task not seen yet, all at once: one round trip, whatever the number of tasks. */
  private async readAcks(ctx: JobContext): Promise<void> {
    const wanted = this.ann.tasks.filter((t) => !this.acks.has(t))
    await Promise.all(
      wanted.map(async (taskId) => {
        const key = clusterKeys.ack(ctx.job.name, this.id, taskId)
        const [ack, info] = await Promise.all([readRecord<Ack>(ctx.primary, key), ctx.primary.stat(key)])
        if (ack && info) this.acks.set(taskId, {ack, info})
      }),
    )
    this.roundTrips = 1
  }

  /** The tasks still without an ack of the announcement's epoch. */
  missing(): string[] {
    return this.ann.tasks.filter((t) => this.acks.get(t)?.ack.epoch !== this.ann.epoch)
  }

  /**
   * Commits when every task acknowledged in the announcement's epoch, that epoch is still the newest
   * and the half-grace rule holds in store time; aborts when the epoch or the grace rule says so.
   */
  async tryCommit(ctx: JobContext): Promise<Outcome | 'waiting'> {
    // a pass begun before this node's acks were written would not see them
    await this.refreshing?.catch(() => {})
    const [, epoch] = await Promise.all([this.refresh(ctx), currentEpoch(ctx.primary, ctx.job.name), this.prepare(ctx)])
    if (epoch !== this.ann.epoch) return abortCheckpoint(ctx, this.id, this.ann.epoch, `a job-wide recovery began (epoch ${epoch}) before every task acknowledged`)
    if (this.missing().length > 0) return 'waiting'
    const acks = this.ann.tasks.map((t) => this.acks.get(t)!)
    const graceMs = ctx.job.checkpoint.graceMs
    const lastAck = Math.max(...acks.map((a) => a.info.lastModified.getTime()))
    if (graceMs > 0 && lastAck - this.claimWrittenAt! > graceMs / 2) {
      return abortCheckpoint(ctx, this.id, this.ann.epoch, `the acknowledgements took longer than half the grace period (checkpoint.grace) in the store's time`)
    }
    this.roundTrips++
    try {
      await ctx.primary.createIfAbsent(
        keys.manifest(ctx.job.name, this.id),
        manifestBody(
          ctx,
          this.ann,
          acks.map((a) => a.ack),
        ),
      )
      return 'completed'
    } catch (error) {
      if (!(error instanceof AlreadyExistsError)) throw error
      return (await outcomeOf(ctx, this.id)) ?? 'waiting'
    }
  }
}

/** The manifest as it follows from the announcement and the acks: the same bytes from every writer. */
export function manifestBody(ctx: JobContext, ann: Announcement, acks: Ack[]): Buffer {
  const manifest: ManifestV2 = {
    format: FORMAT_2,
    job: ctx.job.name,
    checkpointId: ann.checkpointId as CheckpointId,
    status: 'completed',
    epoch: ann.epoch,
    digest: acks[0].digest as ManifestV2['digest'],
    chunkSize: acks[0].chunkSize,
    createdAt: ann.announcedAt,
    completedAt: acks
      .map((a) => a.ackedAt)
      .sort()
      .at(-1)!,
    node: ann.node,
    tasks: acks.map((a) => ({...a.record, node: a.node})),
  }
  return Buffer.from(JSON.stringify(manifest, null, 1))
}
