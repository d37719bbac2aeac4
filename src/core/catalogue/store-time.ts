// The primary store's own clock (docs/design/format-2.md §8.1): every age is the difference of two
// store times, so a node whose clock is off cannot make a young object look old.
import type {Body, ObjectInfo, PrimaryStore} from '../stores/store.js'
import {StoreUnavailableError} from '../errors.js'

/**
 * The store's time now: the `lastModified` of an object this process writes right here (its own
 * lock record, rewritten) and reads back. Azure: the service's Last-Modified; a folder: the file
 * system's mtime (an NFS server's clock on a shared mount).
 */
export async function storeNow(primary: PrimaryStore, ownKey: string, body: Body): Promise<number> {
  await primary.put(ownKey, body)
  const info = await primary.stat(ownKey)
  if (!info) throw new StoreUnavailableError(`the primary store lost ${ownKey} right after writing it; it cannot tell the time`)
  return info.lastModified.getTime()
}

/** How long ago, in store time, an object was last written (never negative). */
export function ageMs(now: number, info: Pick<ObjectInfo, 'lastModified'>): number {
  return Math.max(0, now - info.lastModified.getTime())
}
