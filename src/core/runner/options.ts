// The settings of `ckpt run`: flags beat the job file's `run` section, which beats the defaults.
import type {JobSpec} from '../config/job-file.js'
import {formatDuration, MAX_TIMER_MS} from '../config/units.js'
import {UsageError} from '../errors.js'

export type Failover = 'job' | 'task'

export interface RunOptions {
  /** Milliseconds between checkpoints; 0 takes none on an interval. */
  intervalMs: number
  failover: Failover
  /** Restarts allowed within restartWindowMs; one more ends the run with exit 1. */
  maxRestarts: number
  restartWindowMs: number
  /** The first restart's delay; each further restart within the window doubles it. */
  restartDelayMs: number
  /** How long stopped tasks get between SIGTERM and SIGKILL. */
  stopTimeoutMs: number
  checkpointOnExit: boolean
  /** Stop the run after this long (a clean stop, exit 0). */
  durationMs?: number
  /** Start every task on its current state instead of restoring the newest checkpoint. */
  fresh: boolean
  /** Stop cleanly on SIGINT/SIGTERM sent to this process (the command sets it; tests call stop()). */
  handleSignals: boolean
}

/** What a caller may give: durations as milliseconds or strings such as "30s". */
export interface RunInput {
  interval?: number
  failover?: string
  maxRestarts?: number
  restartWindow?: number
  restartDelay?: number
  stopTimeout?: number
  checkpointOnExit?: boolean
  duration?: number
  fresh?: boolean
  handleSignals?: boolean
  /** Many nodes: the tasks this participant runs (`--task`); default the job file's tasks[].node. */
  tasks?: string[]
}

export const RUN_DEFAULTS = {failover: 'job' as Failover, maxRestarts: 5, restartWindowMs: 600_000, restartDelayMs: 1000, stopTimeoutMs: 10_000}

/** A duration of the run in milliseconds (the CLI parses flags); `what` names the setting in messages. */
function duration(ms: number | undefined, what: string, options: {timer?: boolean} = {}): number | undefined {
  if (ms === undefined) return undefined
  if (!Number.isFinite(ms) || ms < 0) throw new UsageError(`the run's ${what} (${ms} ms) must be a duration of at least 0`)
  // A timer fires at once above 2^31-1 ms: a duration that feeds one may not be longer.
  if (options.timer && ms > MAX_TIMER_MS) throw new UsageError(`the run's ${what} (${formatDuration(ms)}) is longer than the longest timer ckpt can keep (${MAX_TIMER_MS} ms); use at most 24d`)
  return ms
}

export function resolveRunOptions(job: JobSpec, input: RunInput = {}): RunOptions {
  if (input.failover !== undefined && input.failover !== 'job' && input.failover !== 'task') {
    throw new UsageError(`the run's failover ${JSON.stringify(input.failover)}: must be 'job' or 'task'`)
  }
  if (input.maxRestarts !== undefined && (!Number.isInteger(input.maxRestarts) || input.maxRestarts < 0)) {
    throw new UsageError(`the run's restart limit ${input.maxRestarts}: must be a whole number of at least 0`)
  }
  const durationMs = duration(input.duration, 'duration', {timer: true})
  if (durationMs === 0) throw new UsageError(`the run's duration must be longer than 0`)
  return {
    intervalMs: duration(input.interval, 'checkpoint interval', {timer: true}) ?? job.checkpoint.intervalMs,
    failover: (input.failover as Failover | undefined) ?? job.run.failover ?? RUN_DEFAULTS.failover,
    maxRestarts: input.maxRestarts ?? job.run.maxRestarts ?? RUN_DEFAULTS.maxRestarts,
    restartWindowMs: duration(input.restartWindow, 'restart window') ?? job.run.restartWindowMs ?? RUN_DEFAULTS.restartWindowMs,
    restartDelayMs: duration(input.restartDelay, 'restart delay', {timer: true}) ?? job.run.restartDelayMs ?? RUN_DEFAULTS.restartDelayMs,
    stopTimeoutMs: duration(input.stopTimeout, 'stop timeout', {timer: true}) ?? job.run.stopTimeoutMs ?? RUN_DEFAULTS.stopTimeoutMs,
    checkpointOnExit: input.checkpointOnExit ?? false,
    durationMs,
    fresh: input.fresh ?? false,
    handleSignals: input.handleSignals ?? false,
  }
}
