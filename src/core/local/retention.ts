// Local retention after a take: keep the newest N confirmed copies per task; never touch a copy
// newer than a task's newest confirmed copy (it may belong to a take in progress).
import {checkpointNumber} from '../format/ids.js'
import type {LocalCopy, SecondaryStore} from './secondary.js'

/** The confirmed copies beyond the newest `keep` of each task. */
export function copiesBeyondRetention(copies: LocalCopy[], keep: number): LocalCopy[] {
  const byTask = new Map<string, LocalCopy[]>()
  for (const copy of copies) {
    if (copy.partial || copy.status !== 'confirmed') continue
    byTask.set(copy.taskId, [...(byTask.get(copy.taskId) ?? []), copy])
  }
  const doomed: LocalCopy[] = []
  for (const list of byTask.values()) {
    list.sort((a, b) => checkpointNumber(b.checkpointId)! - checkpointNumber(a.checkpointId)!)
    doomed.push(...list.slice(Math.max(1, keep)))
  }
  return doomed
}

export async function applyLocalRetention(secondary: SecondaryStore, keep: number, taskIds: string[]): Promise<LocalCopy[]> {
  const copies = (await secondary.list()).filter((c) => taskIds.includes(c.taskId))
  const doomed = copiesBeyondRetention(copies, keep)
  for (const copy of doomed) await secondary.remove(copy)
  return doomed
}
