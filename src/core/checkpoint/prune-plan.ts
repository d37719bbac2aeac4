// Which checkpoints 'checkpoint prune' keeps and removes, and why. Pure: no store access.
import {checkpointNumber, type CheckpointId} from '../format/ids.js'
import {isManifestV2, type Manifest, type ManifestV2} from '../format/manifest.js'

export interface PruneCandidate {
  checkpointId: CheckpointId
  /** A manifest exists. */
  completed: boolean
  /** The parsed manifest, when it could be read. */
  manifest?: Manifest | ManifestV2
  /** Format 2: the packs its task indexes name, when they could be read. */
  packs?: string[]
  /** Its commit record is an abort record: it never completes (completed is false). */
  aborted?: boolean
  /** Why the checkpoint cannot be restored though its manifest reads (an object missing or of the wrong size). */
  unrestorable?: string
  /** Newest write among the checkpoint's objects (claim, data), for the grace period. */
  lastWriteMs: number
  /** A prune that was interrupted had chosen it (a marker under <job>/pruning/). */
  marked: boolean
}

export interface PrunePolicy {
  retain: number
  keepWithinMs?: number
  graceMs: number
  now: number
}

export interface PruneDecision {
  checkpointId: CheckpointId
  status: 'completed' | 'incomplete'
  action: 'keep' | 'remove'
  reason: string
}

export function planPrune(candidates: PruneCandidate[], policy: PrunePolicy): PruneDecision[] {
  const number = (c: PruneCandidate) => checkpointNumber(c.checkpointId)!
  const completed = candidates.filter((c) => c.completed).sort((a, b) => number(b) - number(a))
  const newest = completed[0]
  // Only checkpoints that can be restored count toward retention; the newest of them always stays.
  const restorable = completed.filter((c) => c.manifest && !c.unrestorable)
  const retained = new Set(restorable.slice(0, Math.max(1, policy.retain)).map((c) => c.checkpointId))
  const decisions = new Map<string, PruneDecision>()
  const decide = (c: PruneCandidate, action: 'keep' | 'remove', reason: string) =>
    decisions.set(c.checkpointId, {checkpointId: c.checkpointId, status: c.completed ? 'completed' : 'incomplete', action, reason})

  for (const c of completed) {
    if (c === newest) decide(c, 'keep', c.unrestorable ? `newest completed checkpoint (it cannot be restored: ${c.unrestorable})` : 'newest completed checkpoint')
    else if (!c.manifest) decide(c, 'keep', "its manifest cannot be read; run 'ckpt checkpoint verify'")
    else if (c === restorable[0]) decide(c, 'keep', 'newest checkpoint that can be restored')
    else if (retained.has(c.checkpointId)) decide(c, 'keep', `among the newest ${policy.retain} completed that can be restored`)
    else if (c.unrestorable) decide(c, 'remove', `it can never be restored (${c.unrestorable})`)
    else if (policy.keepWithinMs !== undefined && policy.now - Date.parse(c.manifest.createdAt) <= policy.keepWithinMs) decide(c, 'keep', 'taken within the keep-within time')
    else decide(c, 'remove', `older than the newest ${policy.retain} completed`)
  }
  const newestNumber = newest ? number(newest) : 0
  for (const c of candidates.filter((x) => !x.completed)) {
    const age = policy.now - c.lastWriteMs
    if (c.aborted) decide(c, 'remove', 'aborted: it never completes')
    else if (number(c) > newestNumber) decide(c, 'keep', newest ? 'incomplete, newer than the newest completed (a take may be in progress)' : 'incomplete, and no checkpoint is completed yet')
    else if (c.marked) decide(c, 'remove', 'an interrupted prune had begun to remove it')
    else if (age <= policy.graceMs) decide(c, 'keep', 'incomplete, written within the grace period (a take may be in progress)')
    else decide(c, 'remove', 'incomplete, older than the newest completed and the grace period')
  }
  return candidates.map((c) => decisions.get(c.checkpointId)!).sort((a, b) => checkpointNumber(a.checkpointId)! - checkpointNumber(b.checkpointId)!)
}

/** Objects that kept checkpoints' manifests reference: never removed, whatever folder they sit in. */
export function referencedKeys(kept: Array<Manifest | ManifestV2 | undefined>): Set<string> {
  const refs = new Set<string>()
  for (const manifest of kept) {
    if (manifest && isManifestV2(manifest)) for (const task of manifest.tasks) refs.add(task.index)
    else for (const task of manifest?.tasks ?? []) refs.add(task.archive).add(task.index)
  }
  return refs
}
