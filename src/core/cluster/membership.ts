// A participant's place in a many-node job (docs/design/many-nodes.md): it checks that the live
// participants run the same job file, claims its tasks (create-if-absent of the next owner
// generation), and keeps its record fresh; the record's store write time is its heartbeat.
import {randomUUID} from 'node:crypto'
import {hostname} from 'node:os'
import type {TaskSpec} from '../config/job-file.js'
import type {JobContext} from '../context.js'
import {JobMismatchError, TaskOwnedError} from '../errors.js'
import {clusterKeys} from '../format/keys.js'
import {processStartOf, sameProcessAlive} from '../util/process.js'
import {ageMs, storeNow} from '../catalogue/store-time.js'
import {createRecord, highestSerial, jobDigest, listParticipants, probeStoreTime, readRecord, type OwnerRecord, type Participant, type ParticipantRecord} from './records.js'

/** Whether a participant counts as running: it has not left, its heartbeat is younger than the lease, and (on this host) its process lives. */
export function isLive(p: Participant, storeNow: number, leaseMs: number, self?: {host: string}): boolean {
  if (p.leaving) return false
  if (ageMs(storeNow, {lastModified: p.heartbeat}) >= leaseMs) return false
  // A process of this host that is gone (kill -9, then a restart) need not be waited out.
  if (self && p.host === self.host && !sameProcessAlive(p)) return false
  return true
}

export class Membership {
  readonly runId = randomUUID()
  readonly digest: string
  readonly host = hostname()
  epoch = 0
  readonly copies: Record<string, string> = {}
  private readonly startedAt = new Date().toISOString()
  private leaving = false
  /** The store's time at the last heartbeat. */
  storeNow = 0

  constructor(
    private readonly ctx: JobContext,
    readonly tasks: TaskSpec[],
    readonly failover: 'job' | 'task',
  ) {
    this.digest = jobDigest(ctx.job)
  }

  get node(): string {
    return this.ctx.node
  }

  get leaseMs(): number {
    return this.ctx.job.cluster.leaseMs
  }

  record(): ParticipantRecord {
    return {
      node: this.node,
      host: this.host,
      pid: process.pid,
      processStart: processStartOf(process.pid),
      runId: this.runId,
      tasks: this.tasks.map((t) => t.id),
      jobDigest: this.digest,
      epoch: this.epoch,
      failover: this.failover,
      startedAt: this.startedAt,
      writtenAt: new Date().toISOString(),
      copies: this.copies,
      ...(this.leaving ? {leaving: true} : {}),
    }
  }

  /** Rewrites this participant's record and learns the store's time from its write time. */
  async heartbeat(): Promise<number> {
    const key = clusterKeys.participant(this.ctx.job.name, this.node)
    this.storeNow = await storeNow(this.ctx.primary, key, Buffer.from(JSON.stringify(this.record(), null, 1)))
    return this.storeNow
  }

  /** The live participants other than this one. */
  async others(): Promise<Participant[]> {
    const all = await listParticipants(this.ctx.primary, this.ctx.job.name)
    return all.filter((p) => p.runId !== this.runId && isLive(p, this.storeNow, this.leaseMs, this))
  }

  /**
   * Joins the job: refuses a live participant of this node name, one that runs another job file, or
   * one that runs any of these tasks; then claims each task and writes the first heartbeat.
   */
  async join(): Promise<void> {
    const job = this.ctx.job.name
    const existing = await readRecord<ParticipantRecord>(this.ctx.primary, clusterKeys.participant(job, this.node))
    const existingInfo = existing ? await this.ctx.primary.stat(clusterKeys.participant(job, this.node)) : undefined
    // The probe of the store's time is this node's record; an earlier one of this name is judged first.
    this.storeNow = await probeStoreTime(this.ctx.primary, this.ctx.job.name)
    if (existing && existingInfo && isLive({...existing, heartbeat: existingInfo.lastModified}, this.storeNow, this.leaseMs, this)) {
      throw new TaskOwnedError(
        `node ${this.node} already has a live participant of job ${job} (pid ${existing.pid} on ${existing.host}, heartbeat ${secondsAgo(this.storeNow, existingInfo.lastModified)}); stop it first, or use another node name`,
      )
    }
    const others = await this.others()
    const foreign = others.find((p) => p.jobDigest !== this.digest)
    if (foreign) {
      throw new JobMismatchError(
        `job file ${this.ctx.job.file}: its task list (ids and nodes) or format differs from the one participant ${foreign.node} (pid ${foreign.pid} on ${foreign.host}) runs; every node must run the same job file`,
      )
    }
    for (const task of this.tasks) {
      const holder = others.find((p) => p.tasks.includes(task.id))
      if (holder) throw this.owned(task.id, holder)
    }
    for (const task of this.tasks) await this.claim(task.id, others)
    await this.heartbeat()
  }

  private owned(taskId: string, holder: Participant): TaskOwnedError {
    return new TaskOwnedError(
      `task ${taskId} is run by participant ${holder.node} (pid ${holder.pid} on ${holder.host}, heartbeat ${secondsAgo(this.storeNow, holder.heartbeat)}); stop it first, or wait until its heartbeat is older than cluster.lease (${Math.round(this.leaseMs / 1000)} s)`,
    )
  }

  /** Writes the next owner generation of a task; of two participants claiming it at once, one wins. */
  private async claim(taskId: string, others: Participant[]): Promise<void> {
    const job = this.ctx.job.name
    const highest = await highestSerial(this.ctx.primary, clusterKeys.ownersPrefix(job, taskId))
    const generation = (highest?.n ?? 0) + 1
    const owner: OwnerRecord = {taskId, generation, node: this.node, runId: this.runId}
    if (await createRecord(this.ctx.primary, clusterKeys.owner(job, taskId, generation), owner)) return
    const winner = await readRecord<OwnerRecord>(this.ctx.primary, clusterKeys.owner(job, taskId, generation))
    const holder = others.find((p) => p.runId === winner?.runId)
    if (holder) throw this.owned(taskId, holder)
    throw new TaskOwnedError(`task ${taskId} was claimed at the same moment by node ${winner?.node ?? 'unknown'}; only one participant may run it`)
  }

  /** The tasks whose newest owner is no longer this participant (another took them over). */
  async lostTasks(): Promise<string[]> {
    const job = this.ctx.job.name
    const owners = await Promise.all(
      this.tasks.map(async (task) => {
        const highest = await highestSerial(this.ctx.primary, clusterKeys.ownersPrefix(job, task.id))
        return highest ? readRecord<OwnerRecord>(this.ctx.primary, highest.key) : undefined
      }),
    )
    return owners.flatMap((owner, i) => (owner && owner.runId !== this.runId ? [`${this.tasks[i].id} (now node ${owner.node})`] : []))
  }

  /** Marks this participant as leaving: its tasks may be claimed at once and it is no coordinator. */
  async leave(): Promise<void> {
    this.leaving = true
    await this.heartbeat()
  }
}

function secondsAgo(now: number, then: Date): string {
  return `${Math.round(ageMs(now, {lastModified: then}) / 1000)} s ago`
}
