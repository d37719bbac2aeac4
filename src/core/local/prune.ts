// 'local prune': this node's secondary copies beyond retention, pending leftovers and orphans.
// With the primary reachable it works under the job's exclusive lock, so no checkpoint completes
// and no restore reads a copy while it decides; without it, only what local records prove is removed.
import type {LocalScope} from './scope.js'
import {formatBytes} from '../config/units.js'
import {withLock} from '../lock/lock.js'
import {removeTree} from '../util/remove-tree.js'
import {findLeftovers, leftoverDecision, type LeftoverKind} from './leftovers.js'
import {completedOrUnknown} from './list.js'
import {planLocalPrune, type LocalDecision} from './prune-plan.js'

export interface LocalPruneOptions {
  keep?: number
  maxSizeBytes?: number
  graceMs?: number
  dryRun?: boolean
  lockWaitMs?: number
  onWarning?: (message: string) => void
}

export interface LocalPruneResult {
  dryRun: boolean
  kept: Array<{taskId: string; checkpointId: string; root: string; status: string; bytes: number}>
  removed: Array<{taskId: string; checkpointId: string; root: string; status: string; bytes: number; reason: string}>
  /** Bytes left in the local roots (after removal, or as planned under --dry-run). */
  bytes: number
  /** Snapshot folders and scratch copies of interrupted work (unfinished copies are among removed/kept). */
  leftovers: Array<{kind: LeftoverKind; path: string; bytes: number; action: 'keep' | 'remove'; reason: string}>
  /** Set when the primary could not be reached and only locally provable removals were made. */
  warning?: string
}

export async function pruneLocalCopies(ctx: LocalScope, options: LocalPruneOptions = {}): Promise<LocalPruneResult> {
  const probe = await completedOrUnknown(ctx)
  if (probe.completed === undefined || options.dryRun) return pruneWith(ctx, options, probe.completed, probe.warning)
  return withLock(ctx, {mode: 'exclusive', purpose: 'local-prune', waitMs: options.lockWaitMs, onWarning: options.onWarning}, async () => {
    const fresh = await completedOrUnknown(ctx)
    return pruneWith(ctx, options, fresh.completed, fresh.warning)
  })
}

async function pruneWith(ctx: LocalScope, options: LocalPruneOptions, completed: Set<string> | undefined, unreachable: string | undefined): Promise<LocalPruneResult> {
  const copies = await ctx.secondary.list()
  const plan = planLocalPrune(copies, completed, {
    keep: options.keep ?? ctx.job.retain.local,
    maxSizeBytes: options.maxSizeBytes,
    graceMs: options.graceMs ?? ctx.job.checkpoint.graceMs,
    now: Date.now(),
  })
  const view = (d: LocalDecision) => ({taskId: d.copy.taskId, checkpointId: d.copy.checkpointId, root: d.copy.root, status: d.status, bytes: d.copy.bytes})
  const removed = plan.decisions.filter((d) => d.action === 'remove')
  if (!options.dryRun) for (const d of removed) await ctx.secondary.remove(d.copy)
  const leftovers = (await findLeftovers(ctx))
    .filter((item) => item.kind !== 'partial')
    .map((item) => {
      const {remove, reason} = leftoverDecision(item, Date.now(), options.graceMs ?? ctx.job.checkpoint.graceMs)
      return {kind: item.kind, path: item.path, bytes: item.bytes, action: remove ? ('remove' as const) : ('keep' as const), reason}
    })
  if (!options.dryRun) for (const item of leftovers) if (item.action === 'remove') await removeTree(item.path)
  const bytes = plan.decisions.filter((d) => d.action === 'keep').reduce((sum, d) => sum + d.copy.bytes, 0)
  const warnings: string[] = []
  if (unreachable)
    warnings.push(`${unreachable}; removed only unfinished leftovers older than the grace period and locally confirmed copies beyond retention; pending copies and possible orphans are kept`)
  if (options.maxSizeBytes !== undefined && bytes > options.maxSizeBytes) {
    warnings.push(
      `local roots still hold ${formatBytes(bytes)}, over the size limit of ${formatBytes(options.maxSizeBytes)}: what is left is each task's newest confirmed copy or copies that cannot be removed safely`,
    )
  }
  for (const w of warnings) options.onWarning?.(w)
  return {
    dryRun: options.dryRun ?? false,
    kept: plan.decisions.filter((d) => d.action === 'keep').map(view),
    removed: removed.map((d) => ({...view(d), reason: d.reason})),
    bytes,
    leftovers,
    ...(warnings.length > 0 ? {warning: warnings.join('; ')} : {}),
  }
}
