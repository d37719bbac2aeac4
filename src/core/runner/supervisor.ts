// `ckpt run`: starts the job's tasks (restored first, local first), checkpoints them on an
// interval, restores and restarts them when one fails, and stops them all at the end. Only one
// checkpoint or recovery runs at a time. No task's process group outlives the run.
import {mkdirSync} from 'node:fs'
import {completedIds} from '../catalogue/catalogue.js'
import {formatDuration} from '../config/units.js'
import type {JobContext} from '../context.js'
import {UsageError, exitCodeOf, messageOf} from '../errors.js'
import {restoreJob} from '../restore/restore.js'
import {RestartBudget} from './backoff.js'
import {resolveRunOptions, type RunInput, type RunOptions} from './options.js'
import {removeDeadLeftovers} from '../local/leftovers.js'
import {cleanScratch} from './pause-capture.js'
import {claimRun} from './run-record.js'
import {takeRunCheckpoint} from './run-checkpoint.js'
import {Serial} from './serial.js'
import {onStopSignals, STOP_EXIT, type StopReason} from './signals.js'
import {pauseStats, type CheckpointRecord, type FailedCheckpoint, type RecoveryRecord, type RestartRecord, type RunSummary} from './summary.js'
import {describeExit, type ChildExit, type OutputStream} from '../util/child.js'
import type {TaskProcess} from './task-process.js'
import {Slot, startTask} from './slot.js'
import {Watchdog} from './watchdog.js'
import {assignTasks, type Assignment} from '../cluster/assignment.js'
import {ClusterAgent, type AgentHost, type ParticipantCheckpoint, type RestoredTask} from '../cluster/agent.js'
import type {CaptureV2} from '../checkpoint/take2.js'
import {pausingCapture, type PauseRecord} from './pause-capture.js'
import {roundMs} from './summary.js'

export type {StopReason} from './signals.js'

export interface RunHooks {
  /** One line of a task's output. */
  onOutput?: (taskId: string, stream: OutputStream, line: string) => void
  onInfo?: (message: string) => void
  onWarning?: (message: string) => void
  onTaskStart?: (event: {taskId: string; pid: number | undefined; restoredFrom: string}) => void
  onCheckpoint?: (record: CheckpointRecord) => void
  /** A checkpoint's id is claimed and its capture begins. */
  onCheckpointStart?: (event: {checkpointId: string; trigger: CheckpointRecord['trigger']}) => void
  onCheckpointFailed?: (failed: FailedCheckpoint) => void
  /** One job-wide (or task) restore: a record per task. */
  onRecovery?: (records: RecoveryRecord[]) => void
  onRestart?: (record: RestartRecord) => void
  /** A checkpoint tick found a checkpoint or recovery still running. */
  onCheckpointSkipped?: () => void
}

export interface RunHandle {
  done: Promise<RunSummary>
  /** Stops the run cleanly; a second SIGINT/SIGTERM kills every task at once. */
  stop(reason: StopReason): void
}

export function startRun(ctx: JobContext, input: RunInput, hooks: RunHooks = {}): RunHandle {
  const supervisor = new Supervisor(ctx, input, hooks)
  return {done: supervisor.run(), stop: (reason) => supervisor.stop(reason)}
}

export function runJob(ctx: JobContext, input: RunInput, hooks: RunHooks = {}): Promise<RunSummary> {
  return startRun(ctx, input, hooks).done
}

class Supervisor {
  private options!: RunOptions
  private budget!: RestartBudget
  private readonly slots: Slot[]
  private readonly serial = new Serial()
  /** The newest checkpoint this run restored or took; failover restores only once there is one. */
  private baseline?: string
  private ending?: {code: number; reason: string; clean: boolean; signal: NodeJS.Signals}
  private endRun!: () => void
  private readonly ended = new Promise<void>((resolve) => (this.endRun = resolve))
  private force!: () => void
  private readonly forced = new Promise<void>((resolve) => (this.force = resolve))
  private readonly timers: NodeJS.Timeout[] = []
  private wake?: () => void
  private readonly checkpoints: CheckpointRecord[] = []
  private readonly failedCheckpoints: FailedCheckpoint[] = []
  private readonly recoveries: RecoveryRecord[] = []
  private readonly restarts: RestartRecord[] = []
  private skipped = 0
  private watchdog!: Watchdog
  private readonly assignment: Assignment
  /** Many nodes: this run's place among the participants. */
  private agent?: ClusterAgent

  constructor(
    private readonly ctx: JobContext,
    private readonly input: RunInput,
    private readonly hooks: RunHooks,
  ) {
    this.assignment = assignTasks(ctx.job, ctx.node, input.tasks)
    this.slots = this.assignment.tasks.map((task) => new Slot(task))
  }

  async run(): Promise<RunSummary> {
    const started = Date.now()
    const {job} = this.ctx
    this.options = resolveRunOptions(job, this.input)
    const {options} = this
    this.budget = new RestartBudget(options.maxRestarts, options.restartWindowMs, options.restartDelayMs)
    const runnable = this.slots.filter((s) => s.task.command)
    if (runnable.length === 0) throw new UsageError(`job file ${job.file}: no task has a command, so there is nothing to run; give tasks[].command`)
    const releaseRun = await claimRun(this.ctx, (m) => this.warn(m))
    this.watchdog = new Watchdog()
    const killAll = () => this.slots.forEach((s) => s.proc?.kill())
    const uninstall = options.handleSignals ? onStopSignals((signal) => this.stop(signal)) : () => {}
    process.on('exit', killAll)
    try {
      await cleanScratch(this.ctx)
      await removeDeadLeftovers(this.ctx).catch((error) => this.warn(`leftovers of earlier runs and takes: ${messageOf(error)}`))
      if (this.assignment.cluster) {
        this.agent = new ClusterAgent(this.ctx, this.assignment.tasks, options.failover, this.agentHost(), options.intervalMs)
        await Promise.race([this.agent.start(options.fresh), this.forced])
      } else {
        await Promise.race([this.startState(), this.forced])
        for (const slot of runnable) this.start(slot, this.baseline ?? '')
        if (options.intervalMs > 0) this.timers.push(setInterval(() => this.tick(), options.intervalMs))
      }
      if (options.durationMs !== undefined) this.timers.push(setTimeout(() => this.stop('duration'), options.durationMs))
      await this.ended
      await this.shutdown()
    } finally {
      this.timers.forEach((t) => clearInterval(t))
      await this.agent?.stop()
      killAll()
      process.off('exit', killAll)
      uninstall()
      this.watchdog.close()
      // the run ends either way; a record left behind names a dead pid and is taken over by the next run
      await releaseRun().catch(() => {})
    }
    return this.summary(started)
  }

  stop(reason: StopReason): void {
    if (!this.ending) {
      const why = reason === 'duration' ? `the run's duration of ${formatDuration(this.options.durationMs!)} elapsed` : `stopped by ${reason}`
      this.end(STOP_EXIT[reason], why, true, reason === 'SIGINT' ? 'SIGINT' : 'SIGTERM')
    } else if (reason !== 'duration') {
      this.warn(`${reason} again: killing every task now`)
      this.slots.forEach((s) => s.proc?.kill())
      this.force()
    }
  }

  /** Ends the run; its tasks get `signal` (the one the run received, else SIGTERM), then SIGKILL. */
  private end(code: number, reason: string, clean: boolean, signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.ending) return
    this.ending = {code, reason, clean, signal}
    this.timers.forEach((t) => clearInterval(t))
    this.wake?.()
    this.endRun()
  }

  private info(message: string): void {
    this.hooks.onInfo?.(message)
  }

  private warn(message: string): void {
    this.hooks.onWarning?.(message)
  }

  /** Restores the newest completed checkpoint, or starts fresh when asked to or when there is none. */
  private async startState(): Promise<void> {
    if (!this.options.fresh) {
      if ((await completedIds(this.ctx.primary, this.ctx.job.name)).length > 0) {
        await this.restore('start')
        return
      }
      this.info(`job ${this.ctx.job.name} has no completed checkpoint in ${this.ctx.primary.displayUrl}; starting fresh`)
    }
    for (const slot of this.slots) mkdirSync(slot.task.stateDir, {recursive: true})
  }

  private async restore(trigger: 'start' | 'failover', taskIds?: string[], checkpointId?: string): Promise<string> {
    return (await this.restoreTasks(trigger, taskIds, checkpointId)).checkpointId
  }

  private async restoreTasks(trigger: 'start' | 'failover', taskIds?: string[], checkpointId?: string, epoch?: number) {
    const startedAt = new Date().toISOString()
    // Many nodes: every node restores the epoch's checkpoint, or none of them does (the next epoch falls back together).
    const result = await restoreJob(this.ctx, {taskIds, checkpointId, noFallback: checkpointId !== undefined, onWarning: (m) => this.warn(m)})
    const records = result.tasks.map((t) => ({
      taskId: t.taskId,
      checkpointId: t.checkpointId,
      source: t.source,
      durationMs: result.durationMs,
      trigger,
      startedAt,
      localBytes: t.localBytes,
      remoteBytes: t.remoteBytes,
      ...(t.heldBy ? {heldBy: t.heldBy} : {}),
      ...(this.agent ? {epoch: epoch ?? this.agent.membership.epoch} : {}),
    }))
    this.recoveries.push(...records)
    this.hooks.onRecovery?.(records)
    this.baseline = result.checkpointId
    const sources = result.tasks.map((t) => `${t.taskId} ${t.source}${t.heldBy ? ` (node ${t.heldBy} held its copy)` : ''}`).join(', ')
    this.info(`restored checkpoint ${result.checkpointId} in ${formatDuration(result.durationMs)} (${sources})`)
    return result
  }

  private start(slot: Slot, restoredFrom: string): void {
    if (this.ending) return
    const proc = startTask(this.ctx.job, slot, restoredFrom, (stream, line) => this.hooks.onOutput?.(slot.task.id, stream, line))
    this.watchdog.guard(proc.pid) // its group dies with this run, even a run killed by SIGKILL
    proc.strayGuard = (pid, stopped) => (stopped ? this.watchdog.guardProcess(pid) : this.watchdog.releaseProcess(pid))
    this.hooks.onTaskStart?.({taskId: slot.task.id, pid: proc.pid, restoredFrom})
    void proc.exited.then((exit) => {
      this.watchdog.release(proc.pid)
      this.onExit(slot, proc, exit)
    })
  }

  private tick(): void {
    if (this.ending) return
    // A task that failed and awaits its recovery cannot be captured: the tick waits for the recovery.
    const recovering = this.slots.find((s) => s.state === 'failed' || s.state === 'restarting')
    const busy = this.serial.busy ?? (recovering ? `the recovery of task ${recovering.task.id}` : undefined)
    if (busy) {
      this.skipped++
      this.hooks.onCheckpointSkipped?.()
      this.info(`checkpoint skipped: ${busy} is still running`)
      return
    }
    void this.serial.run('a checkpoint', () => this.checkpoint('interval'))
  }

  /** Takes a checkpoint; a failed one is reported and the run goes on. */
  private async checkpoint(trigger: 'interval' | 'exit'): Promise<boolean> {
    try {
      const lookup = (taskId: string) => this.slots.find((s) => s.task.id === taskId)!.processForCapture()
      const record = await takeRunCheckpoint(
        this.ctx,
        lookup,
        trigger,
        (m) => this.warn(m),
        (checkpointId) => this.hooks.onCheckpointStart?.({checkpointId, trigger}),
      )
      this.checkpoints.push(record)
      this.baseline = record.checkpointId
      this.hooks.onCheckpoint?.(record)
      return true
    } catch (error) {
      this.failedCheckpoints.push({at: new Date().toISOString(), trigger, reason: messageOf(error)})
      this.hooks.onCheckpointFailed?.(this.failedCheckpoints.at(-1)!)
      this.warn(`${messageOf(error)}${trigger === 'interval' && !this.ending ? '; the run goes on' : ''}`)
      return false
    }
  }

  private onExit(slot: Slot, proc: TaskProcess, exit: ChildExit): void {
    if (slot.proc !== proc) return
    slot.proc = undefined
    slot.lastExit = exit
    if (slot.state !== 'running') return // stopped on purpose
    if (exit.exitCode === 0 && !exit.signal) {
      slot.state = 'finished'
      this.info(`task ${slot.task.id} finished`)
      if (this.slots.every((s) => !s.task.command || s.state === 'finished')) this.end(0, 'every task finished', true)
      return
    }
    slot.state = 'failed'
    this.failover(slot, describeExit(exit))
  }

  private failover(slot: Slot, how: string): void {
    const id = slot.task.id
    const decision = this.budget.record()
    if (!decision.allowed) return this.end(1, `task ${id} ${how}; ${decision.reason}`, false)
    const {failover} = this.options
    const group = failover === 'job' ? this.slots.filter((s) => s.task.command) : [slot]
    for (const s of group) s.state = 'restarting'
    this.restarts.push({taskId: id, at: new Date().toISOString(), exit: how, delayMs: decision.delayMs, failover})
    this.hooks.onRestart?.(this.restarts.at(-1)!)
    if (this.agent && failover === 'job') {
      this.warn(
        `task ${id} ${how}; every node restores and restarts its tasks in ${formatDuration(decision.delayMs)} (restart ${decision.count} of at most ${this.options.maxRestarts} within ${formatDuration(this.options.restartWindowMs)})`,
      )
      this.agent.recoverJob(`task ${id} ${how}`, decision.delayMs).catch((error) => this.end(exitCodeOf(error), `the recovery of task ${id} failed: ${messageOf(error)}`, false))
      return
    }
    const what = failover === 'job' ? 'every task' : `task ${id}`
    this.warn(
      `task ${id} ${how}; restoring and restarting ${what} in ${formatDuration(decision.delayMs)} (restart ${decision.count} of at most ${this.options.maxRestarts} within ${formatDuration(this.options.restartWindowMs)})`,
    )
    this.serial
      .run(`the recovery of task ${id}`, () => this.recover(group, decision.delayMs))
      .catch((error) => this.end(exitCodeOf(error), `the recovery of task ${id} failed: ${messageOf(error)}`, false))
  }

  private async recover(group: Slot[], delayMs: number): Promise<void> {
    await Promise.all(group.map((s) => s.proc?.stop(this.options.stopTimeoutMs)))
    if (this.ending) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout((this.wake = () => (clearTimeout(timer), resolve())), delayMs)
    })
    if (this.ending) return
    let from = ''
    if (this.baseline) from = await this.restore('failover', this.options.failover === 'task' ? group.map((s) => s.task.id) : undefined)
    else this.warn(`no checkpoint has completed in this run yet; restarting on the current state`)
    for (const slot of group) this.start(slot, from)
  }

  private async shutdown(): Promise<void> {
    const ending = this.ending!
    if (this.options.checkpointOnExit && ending.clean && this.agent) {
      this.warn(`--checkpoint-on-exit is not taken by one participant of many; ask every participant for one with 'ckpt checkpoint take' before stopping them`)
    } else if (this.options.checkpointOnExit && ending.clean) {
      this.info('taking a final checkpoint')
      const ok = await Promise.race([this.serial.run('the final checkpoint', () => this.checkpoint('exit')), this.forced.then(() => false)])
      if (!ok && ending.code === 0) this.ending = {...ending, code: 1, reason: `${ending.reason}; the final checkpoint failed`}
    }
    const live = this.slots.filter((s) => s.proc)
    for (const slot of live) slot.state = 'stopped'
    if (live.length > 0) this.info(`stopping ${live.map((s) => s.task.id).join(', ')} (${ending.signal}, then SIGKILL after ${formatDuration(this.options.stopTimeoutMs)})`)
    await Promise.all(live.map((s) => s.proc?.stop(this.options.stopTimeoutMs, ending.signal)))
    // A checkpoint still uploading finishes (or fails) before the run ends, unless a second signal says otherwise.
    await Promise.race([this.serial.idle(), this.forced])
  }

  /** What the cluster agent may ask of this run: captures, stopping, restoring and starting this node's tasks. */
  private agentHost(): AgentHost {
    return {
      newCapture: (checkpointId) => this.newCapture(checkpointId),
      stopTasks: async () => {
        const live = this.slots.filter((s) => s.proc)
        for (const s of this.slots) if (s.state === 'running' || s.state === 'failed') s.state = 'restarting'
        await Promise.all(live.map((s) => s.proc?.stop(this.options.stopTimeoutMs)))
      },
      restoreAndStart: (checkpointId, trigger, epoch) => this.restoreAndStart(checkpointId, trigger, epoch),
      serial: (label, fn) => this.serial.run(label, fn),
      ending: () => this.ending !== undefined,
      end: (code, reason) => this.end(code, reason, false),
      info: (m) => this.info(m),
      warn: (m) => this.warn(m),
    }
  }

  private async restoreAndStart(checkpointId: string | null, trigger: 'start' | 'failover', epoch?: number): Promise<RestoredTask[]> {
    const runnable = this.slots.filter((s) => s.task.command)
    if (checkpointId === null) {
      for (const slot of this.slots) mkdirSync(slot.task.stateDir, {recursive: true})
      for (const slot of runnable) this.start(slot, '')
      return []
    }
    const result = await this.restoreTasks(
      trigger,
      this.slots.map((s) => s.task.id),
      checkpointId,
      epoch,
    )
    for (const slot of runnable) this.start(slot, checkpointId)
    return result.tasks.map((t) => ({taskId: t.taskId, source: t.source, ...(t.heldBy ? {heldBy: t.heldBy} : {})}))
  }

  /** A capture for one checkpoint of many nodes; its end becomes a checkpoint record or a failed one. */
  private newCapture(checkpointId: string): {capture: CaptureV2; finish: (result: ParticipantCheckpoint) => void} {
    const pauses: PauseRecord[] = []
    const lookup = (taskId: string) => this.slots.find((s) => s.task.id === taskId)!.processForCapture()
    const pausing = pausingCapture(this.ctx, lookup, (p) => pauses.push(p))
    this.hooks.onCheckpointStart?.({checkpointId, trigger: 'interval'})
    const capture: CaptureV2 = async (task, id, hint) => pausing(task, id, hint)
    const finish = (result: ParticipantCheckpoint) => {
      if (result.outcome !== 'completed' || !result.written) {
        this.failedCheckpoints.push({at: new Date().toISOString(), trigger: 'interval', reason: `checkpoint ${checkpointId}: ${result.reason ?? 'aborted'}`})
        this.hooks.onCheckpointFailed?.(this.failedCheckpoints.at(-1)!)
        this.warn(`checkpoint ${checkpointId} did not complete (${result.reason ?? 'aborted'}); the run goes on`)
        return
      }
      const tasks = result.written.tasks.map(({record}) => {
        const pause = pauses.find((p) => p.taskId === record.taskId)
        return {
          taskId: record.taskId,
          bytes: record.bytes,
          pauseMs: roundMs(pause?.pauseMs ?? 0),
          secondary: result.secondary[record.taskId] ?? 'failed',
          ...(pause?.copiedBytes === undefined ? {} : {pauseCopiedBytes: pause.copiedBytes}),
        }
      })
      const record: CheckpointRecord = {
        checkpointId,
        durationMs: result.durationMs,
        pauseMs: Math.max(0, ...tasks.map((t) => t.pauseMs)),
        bytes: tasks.reduce((sum, t) => sum + t.bytes, 0),
        uploadedBytes: result.written.uploadedBytes,
        reusedBytes: result.written.tasks.reduce((sum, t) => sum + t.record.reusedBytes, 0),
        changedFiles: result.written.tasks.reduce((sum, t) => sum + t.totals.changedFiles, 0),
        trigger: 'interval',
        completedAt: new Date().toISOString(),
        tasks,
        ...(result.commitRoundTrips ? {commitRoundTrips: result.commitRoundTrips} : {}),
      }
      this.checkpoints.push(record)
      this.baseline = checkpointId
      this.hooks.onCheckpoint?.(record)
    }
    return {capture, finish}
  }

  private summary(started: number): RunSummary {
    return {
      checkpoints: this.checkpoints,
      recoveries: this.recoveries,
      exit: {code: this.ending!.code, reason: this.ending!.reason},
      pause: pauseStats(this.checkpoints),
      failedCheckpoints: this.failedCheckpoints,
      skippedCheckpoints: this.skipped,
      restarts: this.restarts,
      tasks: this.slots.map((s) => s.summary()),
      durationMs: Date.now() - started,
    }
  }
}
