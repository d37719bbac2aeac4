// `ckpt run` on a terminal: task output prefixed with its task id (coloured per task on a
// terminal only), the run's own notes on stderr, and the summary at the end.
import {formatBytes, formatDuration} from '../core/config/units.js'
import type {CheckpointRecord, RunSummary} from '../core/runner/summary.js'
import {redact} from '../core/util/redact.js'
import {paint, statusColor, table, useColor} from './render.js'

const PALETTE = [36, 35, 33, 32, 34, 91, 96, 95, 93, 92, 94]

/** Writes task output line by line as `[task-id] line`. */
export function taskOutput(stream: NodeJS.WriteStream, taskIds: string[]): (taskId: string, from: 'stdout' | 'stderr', line: string) => void {
  const color = useColor(stream)
  const width = Math.max(...taskIds.map((id) => id.length))
  const prefixes = new Map(
    taskIds.map((id, i) => {
      const label = `[${id}]`.padEnd(width + 2)
      return [id, color ? `\u001B[${PALETTE[i % PALETTE.length]}m${label}\u001B[39m` : label]
    }),
  )
  return (taskId, _from, line) => {
    stream.write(`${prefixes.get(taskId) ?? `[${taskId}]`} ${redact(line)}\n`)
  }
}

/** The run's own notes (checkpoints, restores, restarts) go to stderr. */
export function runNote(message: string): void {
  process.stderr.write(`${paint.dim('ckpt:', useColor(process.stderr))} ${redact(message)}\n`)
}

/** `ckpt run`'s log of a checkpoint's start. */
export function checkpointStartNote(event: {checkpointId: string; trigger: string}): string {
  return `checkpoint ${event.checkpointId} started (${event.trigger === 'exit' ? 'final' : event.trigger})`
}

/** `ckpt run`'s log of a completed checkpoint: id, duration, pause, state, uploaded and reused bytes. */
export function checkpointEndNote(c: CheckpointRecord): string {
  // Format 1 stores every checkpoint whole, so nothing is reused yet; the log says so rather than hide it.
  return `checkpoint ${c.checkpointId} completed in ${formatDuration(c.durationMs)}, paused ${formatDuration(c.pauseMs)}, ${formatBytes(c.bytes)} of state, ${formatBytes(c.uploadedBytes)} uploaded, ${c.changedFiles === undefined ? `${formatBytes(c.reusedBytes)} reused (format 1 stores each checkpoint whole)` : `${formatBytes(c.reusedBytes)} reused, ${c.changedFiles} files read`}`
}

export function renderRunSummary(s: RunSummary): string {
  const lines: string[] = []
  if (s.checkpoints.length > 0) {
    lines.push(
      table(
        ['checkpoint', 'took', 'paused', 'bytes', 'trigger'],
        s.checkpoints.map((c) => [c.checkpointId, formatDuration(c.durationMs), formatDuration(c.pauseMs), formatBytes(c.bytes), c.trigger]),
      ),
    )
    lines.push(`${s.checkpoints.length} checkpoint${s.checkpoints.length === 1 ? '' : 's'}; pause median ${formatDuration(s.pause.medianMs)}, max ${formatDuration(s.pause.maxMs)}.`)
  } else {
    lines.push('No checkpoint was taken.')
  }
  if (s.failedCheckpoints.length > 0) lines.push(`${s.failedCheckpoints.length} checkpoint(s) failed; the last: ${s.failedCheckpoints.at(-1)!.reason}`)
  if (s.skippedCheckpoints > 0) lines.push(`${s.skippedCheckpoints} checkpoint tick(s) skipped while a checkpoint or recovery was running.`)
  if (s.recoveries.length > 0) {
    lines.push('')
    lines.push(
      table(
        ['task', 'checkpoint', 'source', 'restore time', 'trigger'],
        s.recoveries.map((r) => [r.taskId, r.checkpointId, statusColor(r.source), formatDuration(r.durationMs), r.trigger]),
      ),
    )
  }
  if (s.restarts.length > 0) lines.push(`${s.restarts.length} restart${s.restarts.length === 1 ? '' : 's'}: ${s.restarts.map((r) => `${r.taskId} ${r.exit}`).join('; ')}.`)
  const ok = s.exit.code === 0
  lines.push('')
  lines.push(`${ok ? paint.green('Run ended', useColor()) : paint.red('Run ended', useColor())} after ${formatDuration(s.durationMs)}: ${s.exit.reason} (exit ${s.exit.code}).`)
  return lines.join('\n')
}
