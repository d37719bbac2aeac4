// What interrupted work leaves on this node besides finished copies: snapshot folders (in the OS
// temp folder; `.snapshot-*` in local roots from ckpt before 11), scratch copies of `ckpt run`
// (ROOT/.ckpt-scratch/NODE/JOB) and unfinished `.partial-` copies. Their names carry the pid of
// the process that made them: a take or a run removes those of dead processes at once, a prune
// also those without a pid (older names) once they are older than the grace period.
import * as fs from 'node:fs/promises'
import {tmpdir} from 'node:os'
import * as path from 'node:path'
import type {LocalScope} from './scope.js'
import {pidAlive} from '../util/process.js'
import {leadingPid, partialPid, snapshotOf} from './layout.js'
import {removeTree} from '../util/remove-tree.js'
import {readdirOrEmpty, treeBytes} from '../util/tree-bytes.js'

export type LeftoverKind = 'partial' | 'snapshot' | 'scratch'

export interface Leftover {
  kind: LeftoverKind
  path: string
  bytes: number
  /** The process that made it, when its name says (names from before ckpt 11 do not). */
  pid?: number
  processAlive: boolean
  mtimeMs: number
}

/**
 * Every leftover of this node and job; snapshot folders of any job (a dead process's is garbage to
 * all). `which` picks by pid before anything is sized, so a take's own sweep walks only what it removes.
 */
export async function findLeftovers(ctx: LocalScope, which: (pid: number | undefined) => boolean = () => true): Promise<Leftover[]> {
  const found: Array<{kind: LeftoverKind; path: string; pid?: number}> = []
  const layout = ctx.secondary.layout
  for (const name of await readdirOrEmpty(tmpdir())) {
    const snapshot = snapshotOf(name)
    if (snapshot) found.push({kind: 'snapshot', ...snapshot})
  }
  for (const root of new Set(layout.roots)) {
    for (const name of await readdirOrEmpty(root)) if (layout.isOldSnapshot(name)) found.push({kind: 'snapshot', path: path.join(root, name)})
    const scratch = layout.scratchDir(root)
    for (const name of await readdirOrEmpty(scratch)) found.push({kind: 'scratch', path: path.join(scratch, name), pid: leadingPid(name)})
  }
  for (const copy of await ctx.secondary.list()) if (copy.partial) found.push({kind: 'partial', path: copy.dir, pid: partialPid(copy.dir)})
  const out: Leftover[] = []
  for (const item of found.filter((f) => which(f.pid))) {
    // gone meanwhile: nothing to remove
    const st = await fs.lstat(item.path).catch(() => undefined)
    if (!st) continue
    out.push({...item, bytes: await treeBytes(item.path), processAlive: item.pid !== undefined && pidAlive(item.pid), mtimeMs: st.mtimeMs})
  }
  return out
}

/** Whether a prune removes a leftover: never while its process lives; at once when it is gone; by age when its name has no pid. */
export function leftoverDecision(item: Leftover, now: number, graceMs: number): {remove: boolean; reason: string} {
  if (item.pid !== undefined) {
    if (item.pid === process.pid || item.processAlive) return {remove: false, reason: `its process ${item.pid} is still running`}
    return {remove: true, reason: `its process ${item.pid} is gone`}
  }
  if (now - item.mtimeMs > graceMs) return {remove: true, reason: 'older than the grace period'}
  return {remove: false, reason: 'within the grace period (its process may still be running)'}
}

/** Removes leftovers of processes that are gone (a take and `ckpt run` call this); returns what it removed. */
export async function removeDeadLeftovers(ctx: LocalScope): Promise<Leftover[]> {
  const dead = await findLeftovers(ctx, (pid) => pid !== undefined && pid !== process.pid && !pidAlive(pid))
  for (const item of dead) await removeTree(item.path)
  return dead
}

/** Removes this process's own snapshot folders, scratch copies and partial copies (an interrupted command). */
export async function removeOwnLeftovers(ctx: LocalScope): Promise<void> {
  const own = await findLeftovers(ctx, (pid) => pid === process.pid)
  for (const item of own) await removeTreeRetrying(item.path)
}

/** Work still in flight may add a file while the tree goes: try again a few times. */
export async function removeTreeRetrying(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await removeTree(dir)
    } catch (error) {
      if (attempt >= 4) throw error
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}
