// What an interrupted command removes of its own making (issue 11 item 12): its locks in the
// primary, its temporary objects in a file primary, its snapshot folders, scratch and partial
// copies, and the staging folders of its restores. Only this process's: names carry its pid.
import {hostname} from 'node:os'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {removeOwnLeftovers, removeTreeRetrying} from './local/leftovers.js'
import {readLocks} from './lock/records.js'
import type {LocalScope} from './local/scope.js'
import {STAGING, stateDirOf} from './local/state-dir.js'
import {fileStoreOf} from './stores/file-store.js'

export async function removeOwnWork(ctx: LocalScope): Promise<void> {
  await removeOwnLeftovers(ctx)
  await removeOwnStaging(ctx)
  await fileStoreOf(ctx.primary)?.removeOwnTemporaries()
  // The lock goes last: until the rest is gone, a prune must not start.
  await removeOwnLocks(ctx)
}

async function removeOwnStaging(ctx: LocalScope): Promise<void> {
  for (const task of ctx.job.tasks) {
    // Staging sits beside what a linked stateDir points to (swap.ts stateDirOf).
    const stateDir = await stateDirOf(task.stateDir).catch(() => task.stateDir)
    const parent = path.dirname(stateDir)
    const prefix = `.${path.basename(stateDir)}${STAGING}${process.pid}-`
    const names = await fs.readdir(parent).catch(() => [] as string[])
    for (const name of names.filter((n) => n.startsWith(prefix))) await removeTreeRetrying(path.join(parent, name))
  }
}

async function removeOwnLocks(ctx: LocalScope): Promise<void> {
  const own = (await readLocks(ctx.primary, ctx.job.name)).filter((lock) => lock.pid === process.pid && lock.host === hostname())
  await Promise.all(own.map((lock) => ctx.primary.delete(lock.key)))
}
