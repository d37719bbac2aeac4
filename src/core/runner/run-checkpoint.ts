// One checkpoint taken by a run: takeCheckpoint with the pausing capture, and its record
// (duration, the longest pause of any task, bytes) for the summary.
import {takeCheckpoint} from '../checkpoint/take.js'
import type {JobContext} from '../context.js'
import {pausingCapture, type PauseRecord, type ProcessLookup} from './pause-capture.js'
import {roundMs, type CheckpointRecord} from './summary.js'

export async function takeRunCheckpoint(
  ctx: JobContext,
  lookup: ProcessLookup,
  trigger: CheckpointRecord['trigger'],
  onWarning: (message: string) => void,
  onStart?: (checkpointId: string) => void,
): Promise<CheckpointRecord> {
  const pauses: PauseRecord[] = []
  const capture = pausingCapture(ctx, lookup, (p) => pauses.push(p))
  const result = await takeCheckpoint(ctx, {capture, onWarning, onStart})
  const pauseOf = (taskId: string) => pauses.find((p) => p.taskId === taskId)
  const tasks = result.tasks.map((t) => {
    const pause = pauseOf(t.taskId)
    return {taskId: t.taskId, bytes: t.bytes, pauseMs: roundMs(pause?.pauseMs ?? 0), secondary: t.secondary, ...(pause?.copiedBytes === undefined ? {} : {pauseCopiedBytes: pause.copiedBytes})}
  })
  return {
    checkpointId: result.checkpointId,
    durationMs: result.durationMs,
    pauseMs: Math.max(0, ...tasks.map((t) => t.pauseMs)),
    bytes: tasks.reduce((sum, t) => sum + t.bytes, 0),
    uploadedBytes: result.uploadedBytes,
    // format 1: every checkpoint stores the whole state
    reusedBytes: result.reusedBytes ?? 0,
    ...(result.format === 2 ? {changedFiles: result.tasks.reduce((sum, t) => sum + (t.changedFiles ?? 0), 0)} : {}),
    trigger,
    completedAt: new Date().toISOString(),
    tasks,
  }
}
