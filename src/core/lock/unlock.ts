// 'ckpt unlock': removes locks left by processes that are gone (or every lock with `all`).
import {readLocks, type LockScope, type LockView} from './records.js'

export interface UnlockOptions {
  /** Remove live-looking locks too: the operator knows their holders are gone. */
  all?: boolean
  dryRun?: boolean
}

export interface UnlockResult {
  dryRun: boolean
  removed: LockView[]
  kept: LockView[]
}

export async function unlockJob(ctx: LockScope, options: UnlockOptions = {}): Promise<UnlockResult> {
  const locks = await readLocks(ctx.primary, ctx.job.name)
  const removed = locks.filter((lock) => options.all || lock.stale !== undefined)
  const kept = locks.filter((lock) => !removed.includes(lock))
  if (!options.dryRun) for (const lock of removed) await ctx.primary.delete(lock.key)
  return {dryRun: options.dryRun ?? false, removed, kept}
}
