// Which secondary copies 'local prune' keeps and removes, and why. Pure: no disk access (a pid's
// liveness is asked through the policy).
import {checkpointNumber} from '../format/ids.js'
import {pidAlive} from '../util/process.js'
import type {LocalCopy} from './copy-record.js'
import {partialPid} from './layout.js'
import {statusOf, type LocalStatus} from './list.js'
import {rankByTask} from './retention.js'

export interface LocalPolicy {
  keep: number
  maxSizeBytes?: number
  graceMs: number
  now: number
  /** Whether a pid runs here (default: asks the system). */
  processAlive?: (pid: number) => boolean
}

/** An unfinished copy named with its take's pid goes as soon as that process is gone; one without (older names), after the grace period. */
function partialDecision(copy: LocalCopy, status: LocalStatus, old: boolean, processAlive: (pid: number) => boolean): LocalDecision {
  const pid = partialPid(copy.dir)
  if (pid !== undefined) {
    const gone = pid !== process.pid && !processAlive(pid)
    return {copy, status, action: gone ? 'remove' : 'keep', reason: gone ? `unfinished leftover of process ${pid}, which is gone` : `unfinished, its take (process ${pid}) is still running`}
  }
  return {copy, status, action: old ? 'remove' : 'keep', reason: old ? 'unfinished leftover older than the grace period' : 'unfinished, within the grace period (a take may be writing it)'}
}

export interface LocalDecision {
  copy: LocalCopy
  status: LocalStatus
  action: 'keep' | 'remove'
  reason: string
}

/**
 * `completed` is the set of completed checkpoint ids, or undefined when the primary cannot be
 * reached: then a copy's own record (confirmed when its checkpoint completed) is all we know.
 */
export function planLocalPrune(copies: LocalCopy[], completed: Set<string> | undefined, policy: LocalPolicy): {decisions: LocalDecision[]} {
  const number = (c: LocalCopy) => checkpointNumber(c.checkpointId) ?? 0
  const decisions = copies.map((copy): LocalDecision => {
    const status = statusOf(copy, completed)
    const old = policy.now - copy.mtimeMs > policy.graceMs
    if (copy.partial) return partialDecision(copy, status, old, policy.processAlive ?? pidAlive)
    if (status === 'orphaned') return {copy, status, action: 'remove', reason: 'orphaned: its checkpoint is no longer completed in the primary'}
    if (status === 'pending') return {copy, status, action: old ? 'remove' : 'keep', reason: old ? 'pending leftover older than the grace period' : 'pending, within the grace period'}
    if (status === 'unknown' && copy.status !== 'confirmed') return {copy, status, action: 'keep', reason: 'pending, and the primary cannot be reached to tell'}
    return {copy, status, action: 'keep', reason: 'confirmed'}
  })
  // Confirmed copies (by the primary, or by their own record when it cannot be reached): the one retention rule.
  const confirmed = decisions.filter((d) => d.action === 'keep' && d.reason === 'confirmed')
  const newestOfTask = new Set<LocalDecision>()
  for (const {item: d, rank} of rankByTask(confirmed, (c) => c.copy)) {
    if (rank === 0) newestOfTask.add(d)
    if (rank < Math.max(1, policy.keep)) d.reason = rank === 0 ? 'newest confirmed copy of its task' : `among the newest ${policy.keep} confirmed copies of its task`
    else Object.assign(d, {action: 'remove', reason: `beyond the newest ${policy.keep} confirmed copies of its task`})
  }
  if (policy.maxSizeBytes !== undefined) {
    let total = decisions.filter((d) => d.action === 'keep').reduce((sum, d) => sum + d.copy.bytes, 0)
    const evictable = confirmed.filter((d) => d.action === 'keep' && !newestOfTask.has(d)).sort((a, b) => number(a.copy) - number(b.copy) || a.copy.mtimeMs - b.copy.mtimeMs)
    for (const d of evictable) {
      if (total <= policy.maxSizeBytes) break
      Object.assign(d, {action: 'remove', reason: 'evicted to fit the maximum size (oldest confirmed first)'})
      total -= d.copy.bytes
    }
  }
  return {decisions}
}
