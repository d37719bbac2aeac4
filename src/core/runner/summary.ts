// What a run did, for the summary at its end: the `run` JSON document of docs/CONTRACT.md
// (checkpoints, recoveries, exit) and a few more fields.
import type {Source} from '../restore/plan.js'

export interface CheckpointRecord {
  checkpointId: string
  durationMs: number
  /** The longest time any task of this checkpoint was paused (SIGSTOP to SIGCONT). */
  pauseMs: number
  bytes: number
  /** Bytes written to the primary (format 1: archives and indexes; format 2: packs and indexes). */
  uploadedBytes: number
  /** Bytes of state the checkpoint took from earlier ones instead of writing them: always 0 in format 1, where each stores the whole state. */
  reusedBytes: number
  /** Format 2: files read by the take (the others were unchanged since its base). */
  changedFiles?: number
  trigger: 'interval' | 'exit'
  completedAt: string
  /** Many nodes: store round trips from this node's last acknowledgement to the commit, when this node wrote the manifest. */
  commitRoundTrips?: number
  /** pauseCopiedBytes: bytes copied during the task's pause (format 2 copies only what changed). */
  tasks: Array<{taskId: string; bytes: number; pauseMs: number; secondary: string; pauseCopiedBytes?: number}>
}

export interface FailedCheckpoint {
  at: string
  trigger: 'interval' | 'exit'
  reason: string
}

export interface RecoveryRecord {
  taskId: string
  checkpointId: string
  source: Source
  /** Time to restore (the job's tasks are restored together). */
  durationMs: number
  trigger: 'start' | 'failover'
  /** When the restore began, after the restart delay. */
  startedAt: string
  /** Bytes of this task that came from this node's secondary copy and from the primary. */
  localBytes: number
  remoteBytes: number
  /** Many nodes: the node that held the task's local copy, when this node had none. */
  heldBy?: string
  /** Many nodes: the epoch the restore began. */
  epoch?: number
}

export interface RestartRecord {
  taskId: string
  at: string
  /** How the failed task ended. */
  exit: string
  delayMs: number
  failover: 'job' | 'task'
}

export interface TaskSummary {
  taskId: string
  starts: number
  state: string
  lastExit?: {exitCode: number | null; signal: string | null}
}

export interface RunSummary {
  checkpoints: CheckpointRecord[]
  recoveries: RecoveryRecord[]
  exit: {code: number; reason: string}
  pause: {medianMs: number; maxMs: number}
  failedCheckpoints: FailedCheckpoint[]
  skippedCheckpoints: number
  restarts: RestartRecord[]
  tasks: TaskSummary[]
  durationMs: number
}

export function median(values: number[]): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Milliseconds to a tenth. */
export function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10
}

export function pauseStats(checkpoints: CheckpointRecord[]): RunSummary['pause'] {
  const pauses = checkpoints.map((c) => c.pauseMs)
  return {medianMs: roundMs(median(pauses)), maxMs: roundMs(Math.max(0, ...pauses))}
}
