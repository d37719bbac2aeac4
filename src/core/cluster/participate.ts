// One participant's part in one checkpoint of many nodes: capture its tasks, check it still owns
// them, acknowledge each, then commit (or wait for another node to) and confirm or drop its local
// copies; a checkpoint that cannot complete is aborted at once.
import {setTimeout as sleep} from 'node:timers/promises'
import type {JobContext} from '../context.js'
import {messageOf} from '../errors.js'
import type {CheckpointId} from '../format/ids.js'
import {clusterKeys} from '../format/keys.js'
import type {ObjectInfo} from '../stores/store.js'
import {withLock} from '../lock/lock.js'
import {writeTasksV2, type WriteV2Result} from '../checkpoint/take2.js'
import {abortCheckpoint, OpenCheckpoint, type Outcome} from './commit.js'
import {isLive, type Membership} from './membership.js'
import {createRecord, listParticipants, type Ack, type Announcement} from './records.js'
import type {AgentHost} from './agent.js'

export class Participation {
  constructor(
    private readonly ctx: JobContext,
    private readonly membership: Membership,
    private readonly host: AgentHost,
    private readonly pollMs: number,
    private readonly isStopped: () => boolean,
  ) {}

  private get stopped(): boolean {
    return this.isStopped()
  }

  /** Captures this participant's tasks, acknowledges each, then commits or waits for the outcome. */
  async run(ann: Announcement, info: ObjectInfo): Promise<void> {
    const m = this.membership
    const id = ann.checkpointId as CheckpointId
    if (ann.epoch !== m.epoch || this.host.ending()) return
    const started = Date.now()
    const {capture, finish} = this.host.newCapture(id)
    const open = new OpenCheckpoint(ann, info)
    await withLock(this.ctx, {mode: 'shared', purpose: 'take', onWarning: (w) => this.host.warn(w)}, async () => {
      let written: WriteV2Result
      // The other nodes' acks are read while this one captures, so its commit needs only a listing and the write.
      const prefetch = setInterval(() => void open.refresh(this.ctx).catch(() => {}), this.pollMs)
      try {
        written = await writeTasksV2(this.ctx, id, {tasks: m.tasks, capture, onWarning: (w) => this.host.warn(w)})
      } catch (error) {
        const reason = `node ${m.node} could not capture its tasks: ${messageOf(error)}`
        await abortCheckpoint(this.ctx, id, ann.epoch, reason).catch(() => {})
        finish({checkpointId: id, outcome: 'aborted', durationMs: Date.now() - started, secondary: {}, reason})
        return
      } finally {
        clearInterval(prefetch)
      }
      // A participant that was presumed gone (paused past the lease) and replaced never acknowledges for its old tasks.
      const lost = await m.lostTasks()
      if (lost.length > 0) {
        const reason = `node ${m.node} no longer owns task ${lost.join(', ')}`
        await this.ctx.secondary.abort(written.tasks.flatMap((w) => (w.copy ? [w.copy] : []))).catch(() => {})
        finish({checkpointId: id, outcome: 'aborted', durationMs: Date.now() - started, secondary: {}, reason})
        this.host.end(1, `another participant took over task ${lost.join(', ')}; this participant stops`)
        return
      }
      await Promise.all(written.tasks.map((w) => createRecord(this.ctx.primary, clusterKeys.ack(this.ctx.job.name, id, w.record.taskId), this.ackOf(ann, w.record, written))))
      let outcome = await open.tryCommit(this.ctx)
      const commitRoundTrips = outcome === 'completed' ? open.roundTrips : undefined
      let endingSince: number | undefined
      while (outcome === 'waiting') {
        await sleep(this.pollMs)
        // a participant that stops waits a lease for the others' acks, not the whole timeout
        if (this.host.ending()) endingSince ??= performance.now()
        const leaving = this.stopped || (endingSince !== undefined && performance.now() - endingSince > m.leaseMs)
        const gone = leaving ? [] : await this.goneOwners(open.missing())
        if (open.late(this.ctx, m.storeNow) || leaving || gone.length > 0) {
          const why = leaving
            ? `node ${m.node} stopped before every task acknowledged`
            : gone.length > 0
              ? `no live participant runs task ${gone.join(', ')} any more`
              : `not every task acknowledged within checkpoint.timeout (missing ${open.missing().join(', ')})`
          outcome = await abortCheckpoint(this.ctx, id, ann.epoch, why)
        } else outcome = await open.tryCommit(this.ctx)
      }
      const secondary = await this.settleCopies(id, written, outcome)
      finish({
        checkpointId: id,
        outcome,
        durationMs: Date.now() - started,
        written,
        secondary,
        ...(commitRoundTrips ? {commitRoundTrips} : {}),
        ...(outcome === 'aborted' ? {reason: 'the checkpoint was aborted'} : {}),
      })
    })
  }

  /** The tasks among these that no live participant runs (its participant was killed, or left): their acks will not come. */
  private async goneOwners(taskIds: string[]): Promise<string[]> {
    if (taskIds.length === 0) return []
    const m = this.membership
    const live = (await listParticipants(this.ctx.primary, this.ctx.job.name)).filter((p) => p.runId === m.runId || isLive(p, m.storeNow, m.leaseMs, m))
    return taskIds.filter((t) => !live.some((p) => p.tasks.includes(t)))
  }

  private ackOf(ann: Announcement, record: WriteV2Result['tasks'][number]['record'], written: WriteV2Result): Ack {
    const m = this.membership
    return {
      checkpointId: ann.checkpointId,
      epoch: ann.epoch,
      taskId: record.taskId,
      node: m.node,
      runId: m.runId,
      record,
      ackedAt: new Date().toISOString(),
      digest: written.config.digest,
      chunkSize: written.config.chunkSize,
    }
  }

  /** Confirms this node's secondary copies of a completed checkpoint, or drops them. */
  private async settleCopies(id: CheckpointId, written: WriteV2Result, outcome: Outcome): Promise<Record<string, 'written' | 'failed'>> {
    const copies = written.tasks.flatMap((w) => (w.copy ? [w.copy] : []))
    const result: Record<string, 'written' | 'failed'> = {}
    if (outcome !== 'completed') {
      await this.ctx.secondary.abort(copies).catch(() => {})
      return result
    }
    for (const w of written.tasks) {
      result[w.record.taskId] = 'failed'
      if (!w.copy) continue
      try {
        await this.ctx.secondary.confirm(w.copy)
        result[w.record.taskId] = 'written'
        this.membership.copies[w.record.taskId] = id
      } catch (error) {
        this.host.warn(`task ${w.record.taskId}: secondary copy could not be confirmed (${messageOf(error)})`)
      }
    }
    await this.ctx.secondary
      .prune(
        this.ctx.job.retain.local,
        this.membership.tasks.map((t) => t.id),
      )
      .catch((error) => this.host.warn(`local retention: ${messageOf(error)}`))
    return result
  }
}
