// Lock records in the primary store (<job>/locks/<mode>-<uuid>.json): who holds them and whether
// their holder is gone. Unique names mean removing a stale lock can never remove a live one.
import {hostname} from 'node:os'
import type {PrimaryStore} from '../stores/store.js'
import {getBuffer} from '../stores/store.js'
import {NotFoundError} from '../errors.js'
import {keys, lockIdOfKey} from '../format/keys.js'
import {listLockObjects} from '../catalogue/catalogue.js'
import {pidAlive} from '../util/process.js'

export type LockMode = 'shared' | 'exclusive'

/** What locking needs of an opened job (context.ts's JobContext is one): lock/ never imports context.ts. */
export interface LockScope {
  primary: PrimaryStore
  job: {name: string}
  node: string
}

export interface LockRecord {
  format: 1
  lockId: string
  mode: LockMode
  /** What the holder does: take, restore, verify, prune, local-prune. */
  purpose: string
  job: string
  node: string
  host: string
  pid: number
  createdAt: string
  refreshedAt: string
  /** An exclusive locker that waits for shared holders to finish; new shared lockers hold back for it. */
  waiting?: boolean
}

export interface LockView extends LockRecord {
  key: string
  /** Why the lock counts as left behind by a process that is gone; undefined while it is live. */
  stale?: string
}

/** A holder refreshes its lock every minute; one not refreshed for this long is taken over. */
export const STALE_AFTER_MS = 30 * 60_000
export const REFRESH_EVERY_MS = 60_000

export function lockKey(job: string, lockId: string): string {
  return keys.lock(job, lockId)
}

export function describeHolder(lock: Pick<LockRecord, 'mode' | 'purpose' | 'node' | 'host' | 'pid' | 'createdAt' | 'waiting'>): string {
  return `${lock.mode} lock for ${lock.purpose} ${lock.waiting ? 'waited for' : 'held'} by pid ${lock.pid} on host ${lock.host} (node ${lock.node}) since ${lock.createdAt}`
}

/** Why a lock's holder is gone: its pid is dead on this very host, or it has not refreshed within the bound. */
export function staleReason(lock: Pick<LockRecord, 'host' | 'pid' | 'refreshedAt'>, now = Date.now(), staleAfterMs = STALE_AFTER_MS): string | undefined {
  if (lock.host === hostname() && !pidAlive(lock.pid)) return `process ${lock.pid} on this host (${lock.host}) is gone`
  const refreshed = Date.parse(lock.refreshedAt)
  if (!Number.isFinite(refreshed)) return 'the lock has no valid refresh time'
  if (now - refreshed > staleAfterMs) return `not refreshed for ${Math.round((now - refreshed) / 60_000)} minutes (bound ${Math.round(staleAfterMs / 60_000)} minutes)`
  return undefined
}

/**
 * Every lock of the job, with its staleness; locks removed while listing are skipped, and so is
 * `except` (a lock id: the caller's own, which it need not read back).
 */
export async function readLocks(primary: PrimaryStore, job: string, options: {now?: number; staleAfterMs?: number; except?: string} = {}): Promise<LockView[]> {
  const found: LockView[] = []
  for await (const info of listLockObjects(primary, job)) {
    const lockId = lockIdOfKey(job, info.key)
    if (lockId === options.except) continue
    let record: LockRecord
    try {
      record = JSON.parse((await getBuffer(primary, info.key)).toString('utf8')) as LockRecord
      if (record.mode !== 'shared' && record.mode !== 'exclusive') throw new Error('no mode')
    } catch (error) {
      if (error instanceof NotFoundError) continue
      // Unreadable: treat as an exclusive lock whose only known time is the object's.
      const at = info.lastModified.toISOString()
      record = {format: 1, lockId, mode: 'exclusive', purpose: 'unknown', job, node: '?', host: '?', pid: 0, createdAt: at, refreshedAt: at}
    }
    const now = options.now ?? Date.now()
    found.push({...record, key: info.key, stale: staleReason(record, now, options.staleAfterMs)})
  }
  return found.sort((a, b) => a.createdAt.localeCompare(b.createdAt))
}
