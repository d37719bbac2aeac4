// The one retention rule of the secondary store, for a take's own prune and for 'local prune':
// per task, the newest `keep` (at least one) confirmed copies stay. The caller passes only the
// copies it counts as confirmed, so a copy newer than a task's newest confirmed one is never touched.
import {checkpointNumber} from '../format/ids.js'
import type {LocalCopy} from './copy-record.js'

/** The confirmed items of each task, newest first: rank 0 is a task's newest. */
export function rankByTask<T>(items: readonly T[], copyOf: (item: T) => LocalCopy): Array<{item: T; rank: number}> {
  const byTask = new Map<string, T[]>()
  for (const item of items) byTask.set(copyOf(item).taskId, [...(byTask.get(copyOf(item).taskId) ?? []), item])
  const number = (item: T) => checkpointNumber(copyOf(item).checkpointId) ?? 0
  return [...byTask.values()].flatMap((list) => list.sort((a, b) => number(b) - number(a)).map((item, rank) => ({item, rank})))
}

/** The items beyond the newest `keep` of each task. */
export function copiesBeyondRetention<T>(items: readonly T[], keep: number, copyOf: (item: T) => LocalCopy): T[] {
  return rankByTask(items, copyOf).flatMap(({item, rank}) => (rank < Math.max(1, keep) ? [] : [item]))
}
