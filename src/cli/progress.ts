// Progress on a terminal only (stderr): one line per command, bytes and rate, redrawn 10 times a second.
import {formatBytes} from '../core/config/units.js'

export type ProgressFn = (taskId: string, bytes: number, total: number) => void

export function progressReporter(label: string, stream: NodeJS.WriteStream = process.stderr): {update: ProgressFn; done(): void} {
  if (!stream.isTTY) return {update: () => {}, done: () => {}}
  const started = Date.now()
  const tasks = new Map<string, {bytes: number; total: number}>()
  let last = 0
  let drawn = false
  const draw = () => {
    let bytes = 0
    let total = 0
    for (const t of tasks.values()) {
      bytes += t.bytes
      total += t.total
    }
    const seconds = Math.max(0.001, (Date.now() - started) / 1000)
    stream.write(`\r\u001B[K${label}: ${formatBytes(bytes)} / ${formatBytes(total)}  ${formatBytes(bytes / seconds)}/s`)
    drawn = true
  }
  return {
    update(taskId, bytes, total) {
      tasks.set(taskId, {bytes, total})
      const now = Date.now()
      if (now - last >= 100) {
        last = now
        draw()
      }
    },
    done() {
      if (drawn) stream.write('\r\u001B[K')
    },
  }
}
