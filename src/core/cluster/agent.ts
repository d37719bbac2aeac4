// A participant's loop (docs/design/many-nodes.md): every cluster.poll it writes its heartbeat,
// follows the epoch, takes the coordinator's place when it is free, and captures and acknowledges
// its own tasks for each checkpoint announced in its epoch. The run (runner/supervisor.ts) owns
// the task processes; the agent asks it to stop, restore and start them.
import {setTimeout as sleep} from 'node:timers/promises'
import type {TaskSpec} from '../config/job-file.js'
import type {JobContext} from '../context.js'
import {EXIT, exitCodeOf, messageOf} from '../errors.js'
import {formatCheckpointId, type CheckpointId} from '../format/ids.js'
import {clusterKeys} from '../format/keys.js'
import {completedIds} from '../catalogue/catalogue.js'
import type {CaptureV2, WriteV2Result} from '../checkpoint/take2.js'
import {abortCheckpoint, announceCheckpoint, listAnnouncements, OpenCheckpoint, outcomeOf, type Outcome} from './commit.js'
import {beginEpoch, epochComplete, recordRestored, settleEpoch} from './epochs.js'
import {isLive, Membership} from './membership.js'
import {createRecord, currentEpoch, highestSerial, listParticipants, readRecord, type Announcement, type CoordinatorRecord, type TargetRecord} from './records.js'
import {cleanUpDecided, openRequests} from './housekeeping.js'
import {Participation} from './participate.js'

/** One task restored by the run for the agent. */
export interface RestoredTask {
  taskId: string
  source: string
  heldBy?: string
}

/** What a participant's checkpoint gives the run for its summary. */
export interface ParticipantCheckpoint {
  checkpointId: string
  outcome: Outcome
  durationMs: number
  written?: WriteV2Result
  secondary: Record<string, 'written' | 'failed'>
  /** Sequential store round trips from this participant's last ack to the commit, when it wrote the manifest. */
  commitRoundTrips?: number
  reason?: string
}

export interface AgentHost {
  /** A capture for one checkpoint; finish is told how it ended. */
  newCapture(checkpointId: string): {capture: CaptureV2; finish: (result: ParticipantCheckpoint) => void}
  stopTasks(): Promise<void>
  /** Restores this participant's tasks to the checkpoint (null: none completed, go on as they are) and starts them. */
  restoreAndStart(checkpointId: string | null, trigger: 'start' | 'failover', epoch?: number): Promise<RestoredTask[]>
  /** Runs one state-changing step at a time. */
  serial(label: string, fn: () => Promise<void>): Promise<void>
  ending(): boolean
  end(code: number, reason: string): void
  info(message: string): void
  warn(message: string): void
  onAnnounce?(checkpointId: string): void
}

/** How often a participant looks for an announcement that is due. */
const WATCH_MS = 50

export class ClusterAgent {
  readonly membership: Membership
  private timer?: NodeJS.Timeout
  private polling = false
  private stopped = false
  /** Announcements up to this number were there before this participant joined, or are handled. */
  private seen = 0
  private scheduledEpoch = 0
  private term?: number
  private lastAnnounced?: {id: CheckpointId; at: number}
  private pacedFrom = Date.now()
  /** The store time of the newest announcement seen: the next one is due an interval later. */
  private lastAnnouncedStoreAt?: number
  private watch?: NodeJS.Timeout
  private pollAgain = false
  private following: Promise<void> = Promise.resolve()
  private orphansSaid = ''
  /** The newest epoch known to have every task back. */
  private completeEpoch = -1
  private polls = 0

  constructor(
    private readonly ctx: JobContext,
    tasks: TaskSpec[],
    failover: 'job' | 'task',
    private readonly host: AgentHost,
    private readonly intervalMs: number,
  ) {
    this.membership = new Membership(ctx, tasks, failover)
  }

  private get pollMs(): number {
    return this.ctx.job.cluster.pollMs
  }

  /** Joins, restores this participant's tasks as the epoch says, starts them, and begins polling. */
  async start(fresh: boolean): Promise<void> {
    const m = this.membership
    await m.join()
    const announced = await listAnnouncements(this.ctx)
    this.seen = Math.max(0, ...announced.map((a) => Number(a.id.slice(4))))
    const epoch = await currentEpoch(this.ctx.primary, this.ctx.job.name)
    this.scheduledEpoch = epoch
    if (fresh) {
      m.epoch = epoch
      await this.host.restoreAndStart(null, 'start')
    } else if (m.failover === 'task') {
      m.epoch = epoch
      const [newest] = await completedIds(this.ctx.primary, this.ctx.job.name)
      await this.host.restoreAndStart(newest ?? null, 'start')
    } else if (epoch > 0 && !(await epochComplete(this.ctx, epoch))) {
      // A recovery is gathering its tasks (participants starting together): join it.
      await this.recoverInto(await settleEpoch(this.ctx, epoch), 'start')
    } else if ((await completedIds(this.ctx.primary, this.ctx.job.name)).length > 0) {
      this.host.info(`node ${m.node} joins job ${this.ctx.job.name}: every participant restores the newest completed checkpoint (a new epoch)`)
      this.scheduledEpoch = epoch + 1
      await this.recoverInto(await beginEpoch(this.ctx, `node ${m.node} joined`), 'start')
    } else {
      m.epoch = epoch
      this.host.info(`job ${this.ctx.job.name} has no completed checkpoint in ${this.ctx.primary.displayUrl}; node ${m.node} starts its tasks fresh`)
      await this.host.restoreAndStart(null, 'start')
    }
    await m.heartbeat()
    this.timer = setInterval(() => void this.poll(), this.pollMs)
  }

  /** A task of this participant failed and the failover is 'job': every node restores together. */
  recoverJob(reason: string, delayMs: number): Promise<void> {
    return this.host.serial(`the recovery after ${reason}`, async () => {
      await this.host.stopTasks()
      await sleep(delayMs)
      if (this.host.ending()) return
      const target = await beginEpoch(this.ctx, `${reason} on node ${this.membership.node}`)
      this.scheduledEpoch = Math.max(this.scheduledEpoch, target.epoch)
      await this.recoverInto(target, 'failover')
    })
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    clearTimeout(this.watch)
    await this.membership.leave().catch(() => {})
  }

  /** Stops this participant's tasks, restores the epoch's target and restarts them; a target that cannot restore a task starts the next epoch without it. */
  private async recoverInto(target: TargetRecord, trigger: 'start' | 'failover'): Promise<void> {
    const m = this.membership
    for (;;) {
      await this.host.stopTasks()
      if (this.host.ending()) return
      let restored: RestoredTask[]
      try {
        restored = await this.host.restoreAndStart(target.checkpointId, trigger, target.epoch)
      } catch (error) {
        if (target.checkpointId === null || exitCodeOf(error) === EXIT.store || exitCodeOf(error) === EXIT.interrupted) throw error
        this.host.warn(`checkpoint ${target.checkpointId} cannot restore this node's tasks (${messageOf(error)}); every node falls back together to an older one`)
        target = await beginEpoch(this.ctx, `checkpoint ${target.checkpointId} could not be restored on node ${m.node}`, [...target.excluded, target.checkpointId])
        this.scheduledEpoch = Math.max(this.scheduledEpoch, target.epoch)
        continue
      }
      const byTask = new Map(restored.map((r) => [r.taskId, r]))
      // in the new epoch before its last task is recorded: the first announcement of it may follow at once
      m.epoch = target.epoch
      for (const task of m.tasks) {
        const r = byTask.get(task.id)
        await recordRestored(this.ctx, {
          taskId: task.id,
          node: m.node,
          epoch: target.epoch,
          checkpointId: target.checkpointId,
          source: r?.source ?? 'in place',
          ...(r?.heldBy ? {heldBy: r.heldBy} : {}),
        })
      }
      await m.heartbeat()
      return
    }
  }

  /** Polls now, or right after the poll in progress. */
  private kick(): void {
    if (this.polling) this.pollAgain = true
    else void this.poll()
  }

  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return
    // a run that is ending only keeps its heartbeat until it leaves
    if (this.host.ending()) return void this.membership.heartbeat().catch(() => {})
    this.polling = true
    try {
      const now = await this.membership.heartbeat()
      if (++this.polls % 5 === 0) {
        const lost = await this.membership.lostTasks()
        if (lost.length > 0) return this.host.end(1, `another participant took over task ${lost.join(', ')}; this participant stops`)
      }
      const epoch = await currentEpoch(this.ctx.primary, this.ctx.job.name)
      if (epoch > this.scheduledEpoch) {
        this.scheduledEpoch = epoch
        this.host.info(`epoch ${epoch} began: node ${this.membership.node} stops its tasks and restores with every other node`)
        void this.host
          .serial(`the recovery of epoch ${epoch}`, async () => {
            // this participant's own failover may have begun that epoch and recovered into it already
            if (this.membership.epoch < epoch) await this.recoverInto(await settleEpoch(this.ctx, epoch), 'failover')
          })
          .catch((error) => this.failRecovery(error))
      }
      await this.coordinate(now, epoch)
      // a 'checkpoint take' is waiting: its announcement comes within a poll of the coordinator's, so look for it closely
      if (this.term === undefined && !this.watch && (await openRequests(this.ctx)).length > 0) this.startWatch(0)
      await this.follow()
    } catch (error) {
      this.host.warn(`participant ${this.membership.node}: ${messageOf(error)}; trying again in ${this.pollMs} ms`)
    } finally {
      this.polling = false
      this.scheduleWatch()
      if (this.pollAgain) {
        this.pollAgain = false
        setImmediate(() => void this.poll())
      }
    }
  }

  /**
   * A participant learns of an announcement by polling, up to a poll late; near the time the next
   * one is due (the last one's store time plus the interval) it looks for it every WATCH_MS instead,
   * so a checkpoint of many nodes starts on every node at about the same moment.
   */
  private scheduleWatch(): void {
    if (this.watch || this.stopped || this.term !== undefined || this.intervalMs <= 0 || this.lastAnnouncedStoreAt === undefined) return
    const wait = this.lastAnnouncedStoreAt + this.intervalMs - this.membership.storeNow
    if (wait > this.pollMs + WATCH_MS || wait < -this.pollMs) return // the regular poll is as near
    this.startWatch(Math.max(0, wait - WATCH_MS))
  }

  private startWatch(delayMs: number): void {
    const next = clusterKeys.announce(this.ctx.job.name, formatCheckpointId(this.seen + 1))
    this.watch = setTimeout(
      () =>
        void this.watchFor(next).finally(() => {
          this.watch = undefined
        }),
      delayMs,
    )
  }

  private async watchFor(key: string): Promise<void> {
    const until = performance.now() + 2 * this.pollMs + WATCH_MS
    while (!this.stopped && performance.now() < until) {
      if (await this.ctx.primary.stat(key).catch(() => undefined)) return this.follow()
      await sleep(WATCH_MS)
    }
  }

  private failRecovery(error: unknown): void {
    this.host.end(exitCodeOf(error), `the recovery failed: ${messageOf(error)}`)
  }

  /** Takes the coordinator's place when its holder is gone; as coordinator, announces checkpoints. */
  private async coordinate(now: number, epoch: number): Promise<void> {
    const job = this.ctx.job.name
    const m = this.membership
    const highest = await highestSerial(this.ctx.primary, clusterKeys.coordinatorPrefix(job))
    const holder = highest ? await readRecord<CoordinatorRecord>(this.ctx.primary, highest.key) : undefined
    if (holder?.runId === m.runId) this.term = highest!.n
    else {
      this.term = undefined
      if (holder) {
        const holderRecord = (await listParticipants(this.ctx.primary, job)).find((p) => p.runId === holder.runId)
        if (holderRecord && isLive(holderRecord, now, m.leaseMs, m)) return
      }
      const term = (highest?.n ?? 0) + 1
      if (!(await createRecord(this.ctx.primary, clusterKeys.coordinator(job, term), {term, node: m.node, runId: m.runId}))) return
      this.host.info(`node ${m.node} is the coordinator of job ${job} (term ${term})`)
      this.term = term
      this.pacedFrom = Date.now()
    }
    await this.announceWhenDue(now, epoch)
  }

  private async announceWhenDue(now: number, epoch: number): Promise<void> {
    const m = this.membership
    if (epoch !== m.epoch) return
    // a recovery gathers its tasks; once every task is back the epoch stays complete, so it is listed no more
    if (this.completeEpoch !== epoch) {
      if (!(await epochComplete(this.ctx, epoch))) return
      this.completeEpoch = epoch
    }
    // A task that no live participant runs cannot acknowledge: announcing would only abort.
    const live = (await listParticipants(this.ctx.primary, this.ctx.job.name)).filter((p) => p.runId === m.runId || isLive(p, now, m.leaseMs, m))
    const orphans = this.ctx.job.tasks.filter((t) => !live.some((p) => p.tasks.includes(t.id))).map((t) => t.id)
    if (orphans.length > 0) {
      if (orphans.join() !== this.orphansSaid) this.host.info(`no checkpoint until a participant runs task ${orphans.join(', ')}`)
      this.orphansSaid = orphans.join()
      return
    }
    this.orphansSaid = ''
    if (this.lastAnnounced && (await outcomeOf(this.ctx, this.lastAnnounced.id)) === undefined) {
      const open = await this.openCheckpoint(this.lastAnnounced.id)
      if (open?.late(this.ctx, now)) await abortCheckpoint(this.ctx, open.id, open.ann.epoch, `not every task acknowledged within checkpoint.timeout (missing ${open.missing().join(', ')})`)
      else return
    }
    const requests = await openRequests(this.ctx)
    // Intervals count from the last announcement, the first from becoming coordinator (local time only paces).
    const due = this.intervalMs > 0 && Date.now() - (this.lastAnnounced?.at ?? this.pacedFrom) >= this.intervalMs
    if (!due && requests.length === 0) return
    const ann = await announceCheckpoint(this.ctx, {epoch, digest: m.digest, term: this.term ?? 0}, requests)
    this.lastAnnounced = {id: ann.checkpointId as CheckpointId, at: Date.now()}
    // the next one is announced on time, not at the first poll after it is due
    setTimeout(() => this.kick(), this.intervalMs).unref()
    this.host.onAnnounce?.(ann.checkpointId)
    await cleanUpDecided(this.ctx).catch((error) => this.host.warn(`cleaning up old checkpoint records: ${messageOf(error)}`))
  }

  private async openCheckpoint(id: CheckpointId): Promise<OpenCheckpoint | undefined> {
    const key = clusterKeys.announce(this.ctx.job.name, id)
    const [ann, info] = await Promise.all([readRecord<Announcement>(this.ctx.primary, key), this.ctx.primary.stat(key)])
    if (!ann || !info) return undefined
    const open = new OpenCheckpoint(ann, info)
    await open.refresh(this.ctx)
    return open
  }

  /** Takes part in each new checkpoint announced in this participant's epoch (one pass at a time: a poll's and a watch's never both take one up). */
  private follow(): Promise<void> {
    this.following = this.following.then(() => this.followOnce())
    return this.following
  }

  private async followOnce(): Promise<void> {
    const m = this.membership
    for (const {id, info} of await listAnnouncements(this.ctx)) {
      const n = Number(id.slice(4))
      if (n <= this.seen) continue
      const ann = await readRecord<Announcement>(this.ctx.primary, clusterKeys.announce(this.ctx.job.name, id))
      // one of an epoch this participant is still recovering into is taken up once it is there
      if (ann && ann.epoch > m.epoch) return
      this.seen = n
      this.lastAnnouncedStoreAt = info.lastModified.getTime()
      if (!ann || ann.epoch !== m.epoch || ann.jobDigest !== m.digest) continue // an older epoch's
      void this.host
        .serial(`checkpoint ${id}`, () => new Participation(this.ctx, m, this.host, this.pollMs, () => this.stopped).run(ann, info))
        .catch((error) => this.host.warn(`checkpoint ${id}: ${messageOf(error)}`))
    }
  }
}
