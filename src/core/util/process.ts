import {readFileSync} from 'node:fs'
import {hostname} from 'node:os'

/** Whether a process with this pid exists on this host (EPERM means it exists but is not ours). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** A process's start time in clock ticks since boot (/proc/PID/stat field 22), which tells it from a later process with the same pid. */
export function processStartOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    // the process is gone (or no /proc): no start time
    return undefined
  }
}

/** Whether the process a record names is alive on this host: the same pid and, where known, the same start time. */
export function sameProcessAlive(record: {host: string; pid: number; processStart?: string}): boolean {
  if (record.host !== hostname() || !pidAlive(record.pid)) return false
  return record.processStart === undefined || record.processStart === processStartOf(record.pid)
}
