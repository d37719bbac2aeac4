// Which secondary copies 'local prune' keeps and removes, and why. Pure: no disk access.
import {checkpointNumber} from '../checkpoint/layout.js'
import {statusOf, type LocalStatus} from './list.js'
import type {LocalCopy} from './secondary.js'

export interface LocalPolicy {
  keep: number
  maxSizeBytes?: number
  graceMs: number
  now: number
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
    if (copy.partial) return {copy, status, action: old ? 'remove' : 'keep', reason: old ? 'unfinished leftover older than the grace period' : 'unfinished, within the grace period (a take may be writing it)'}
    if (status === 'orphaned') return {copy, status, action: 'remove', reason: 'orphaned: its checkpoint is no longer completed in the primary'}
    if (status === 'pending') return {copy, status, action: old ? 'remove' : 'keep', reason: old ? 'pending leftover older than the grace period' : 'pending, within the grace period'}
    if (status === 'unknown' && copy.status !== 'confirmed') return {copy, status, action: 'keep', reason: 'pending, and the primary cannot be reached to tell'}
    return {copy, status, action: 'keep', reason: 'confirmed'}
  })
  // Confirmed copies (by the primary, or by their own record when it cannot be reached), newest first per task.
  const confirmed = decisions.filter((d) => d.action === 'keep' && d.reason === 'confirmed')
  const byTask = new Map<string, LocalDecision[]>()
  for (const d of confirmed) byTask.set(d.copy.taskId, [...(byTask.get(d.copy.taskId) ?? []), d])
  const newestOfTask = new Set<LocalDecision>()
  for (const list of byTask.values()) {
    list.sort((a, b) => number(b.copy) - number(a.copy))
    newestOfTask.add(list[0])
    list.forEach((d, i) => {
      if (i < Math.max(1, policy.keep)) d.reason = i === 0 ? 'newest confirmed copy of its task' : `among the newest ${policy.keep} confirmed copies of its task`
      else Object.assign(d, {action: 'remove', reason: `beyond the newest ${policy.keep} confirmed copies of its task`})
    })
  }
  if (policy.maxSizeBytes !== undefined) {
    let total = decisions.filter((d) => d.action === 'keep').reduce((sum, d) => sum + d.copy.bytes, 0)
    const evictable = confirmed.filter((d) => d.action === 'keep' && !newestOfTask.has(d)).sort((a, b) => number(a.copy) - number(b.copy) || a.copy.mtimeMs - b.copy.mtimeMs)
    for (const d of evictable) {
      if (total <= policy.maxSizeBytes) break
      Object.assign(d, {action: 'remove', reason: 'evicted to fit --max-size (oldest confirmed first)'})
      total -= d.copy.bytes
    }
  }
  return {decisions}
}
