// Job locks over any primary store (restic's protocol): write your own lock object, then look at
// the others. Shared locks (take, restore, verify) go together; an exclusive lock (prune) goes
// alone. Both sides create before they check, so of two racing lockers at least one sees the other.
import {hostname} from 'node:os'
import {setTimeout as sleep} from 'node:timers/promises'
import {randomUUID} from '../util/crypto.js'
import {LockedError, messageOf} from '../errors.js'
import {describeHolder, lockKey, readLocks, REFRESH_EVERY_MS, STALE_AFTER_MS, type LockMode, type LockRecord, type LockScope, type LockView} from './records.js'
import {interruptSignal} from '../interrupt.js'

export interface LockOptions {
  mode: LockMode
  purpose: string
  /** How long to wait for conflicting locks to go away (default 60 s). */
  waitMs?: number
  staleAfterMs?: number
  refreshEveryMs?: number
  onWarning?: (message: string) => void
}

export const DEFAULT_LOCK_WAIT_MS = 60_000

export interface HeldLock {
  record: LockRecord
  release(): Promise<void>
}

/** Runs fn while holding a job lock; always releases it. */
export async function withLock<T>(ctx: LockScope, options: LockOptions, fn: () => Promise<T>): Promise<T> {
  // A read-only store (a read-only SAS, a read-only mount) may still restore and verify; it just cannot announce it.
  if (options.mode === 'shared' && !ctx.primary.properties.writable) {
    options.onWarning?.(
      `cannot write a lock to the primary store (${ctx.primary.displayUrl} is read-only); going on without one, so a prune running now could remove what this ${options.purpose} reads`,
    )
    return fn()
  }
  const lock = await acquireLock(ctx, options)
  try {
    return await fn()
  } finally {
    await lock.release()
  }
}

export async function acquireLock(ctx: LockScope, options: LockOptions): Promise<HeldLock> {
  const job = ctx.job.name
  const lockId = `${options.mode}-${randomUUID()}`
  const key = lockKey(job, lockId)
  const deadline = Date.now() + (options.waitMs ?? DEFAULT_LOCK_WAIT_MS)
  const now = () => new Date().toISOString()
  const record: LockRecord = {format: 1, lockId, mode: options.mode, purpose: options.purpose, job, node: ctx.node, host: hostname(), pid: process.pid, createdAt: now(), refreshedAt: now()}
  const write = () => ctx.primary.put(key, Buffer.from(JSON.stringify(record, null, 1)))
  // An exclusive locker is 'waiting' until it holds the lock; its record holds new shared lockers back.
  if (options.mode === 'exclusive') record.waiting = true
  for (let attempt = 0; ; attempt++) {
    record.refreshedAt = now()
    await write()
    let others: LockView[]
    try {
      others = await liveOthers(ctx, record, options)
    } catch (error) {
      // undoing our own lock after a failure; the failure is what is thrown, and a stale lock expires
      await ctx.primary.delete(key).catch(() => {})
      throw error
    }
    const conflicts = others.filter((other) => record.mode === 'exclusive' || other.mode === 'exclusive')
    if (conflicts.length === 0) break
    // The first exclusive locker in line keeps its record while the shared holders finish, so it gets its turn.
    const inLine = record.mode === 'exclusive' && !others.some((other) => other.mode === 'exclusive' && aheadOf(other, record))
    if (!inLine || Date.now() >= deadline) await ctx.primary.delete(key)
    if (Date.now() >= deadline) {
      throw new LockedError(`job ${job} is locked: ${conflicts.map(describeHolder).join('; ')}; wait for it to finish, or if its process is gone run 'ckpt unlock'`)
    }
    // Jitter breaks the tie when two lockers keep seeing each other; the one in line only polls.
    await sleep(Math.min(inLine ? 500 : 2000, 100 * 2 ** Math.min(attempt, 4)) * (0.5 + Math.random()))
  }
  if (record.waiting) {
    delete record.waiting
    record.refreshedAt = now()
    await write().catch(async (error) => {
      // undoing our own lock after a failure; the failure is what is thrown, and a stale lock expires
      await ctx.primary.delete(key).catch(() => {})
      throw error
    })
  }
  const timer = setInterval(() => {
    record.refreshedAt = now()
    write().catch((error) => options.onWarning?.(`cannot refresh ${options.mode} lock ${lockId}: ${messageOf(error)}`))
  }, options.refreshEveryMs ?? REFRESH_EVERY_MS)
  timer.unref()
  // An interrupted command removes its lock (cleanup.ts): no refresh may write it back.
  const stopRefresh = () => clearInterval(timer)
  interruptSignal.addEventListener('abort', stopRefresh, {once: true})
  let released = false
  return {
    record,
    async release() {
      if (released) return
      released = true
      clearInterval(timer)
      // a long run takes a lock per checkpoint: each release takes its listener back
      interruptSignal.removeEventListener('abort', stopRefresh)
      await ctx.primary.delete(key).catch((error) => options.onWarning?.(`cannot remove lock ${lockId}: ${messageOf(error)}`))
    },
  }
}

/** Other live locks; stale ones are removed with a warning (taken over). */
async function liveOthers(ctx: LockScope, mine: LockRecord, options: LockOptions): Promise<LockView[]> {
  const live: LockView[] = []
  for (const other of await readLocks(ctx.primary, ctx.job.name, {staleAfterMs: options.staleAfterMs ?? STALE_AFTER_MS, except: mine.lockId})) {
    if (other.stale) {
      options.onWarning?.(`taking over a stale ${describeHolder(other)}: ${other.stale}`)
      await ctx.primary.delete(other.key)
      continue
    }
    live.push(other)
  }
  return live
}

/** Whether an exclusive locker came first: the older record, then the smaller id. */
function aheadOf(other: LockRecord, mine: LockRecord): boolean {
  return other.createdAt < mine.createdAt || (other.createdAt === mine.createdAt && other.lockId < mine.lockId)
}
