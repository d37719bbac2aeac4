// What interrupted work leaves on this node besides finished copies: snapshot folders (in the OS
// temp folder; `.snapshot-*` in local roots from ckpt before 11), scratch copies of `ckpt run`
// (ROOT/.ckpt-scratch/NODE/JOB) and unfinished `.partial-` copies. Their names carry the pid of
// the process that made them: a take or a run removes those of dead processes at once, a prune
// also those without a pid (older names) once they are older than the grace period.
import * as fs from 'node:fs/promises'
import {tmpdir} from 'node:os'
import * as path from 'node:path'
import type {TaskSpec} from '../config/job-file.js'
import type {LocalScope} from './scope.js'
import {pidAlive} from '../util/process.js'
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

const SNAPSHOT_PREFIX = 'ckpt-snapshot-'
const OLD_SNAPSHOT_PREFIX = '.snapshot-'
const SCRATCH = '.ckpt-scratch'
const PARTIAL = '.partial-'

/** The mkdtemp prefix of a snapshot folder: the OS temp folder (TMPDIR), never a local root, so a full local disk cannot fail the primary copy. */
export function snapshotPrefix(task: TaskSpec, checkpointId: string): string {
  return path.join(tmpdir(), `${SNAPSHOT_PREFIX}${process.pid}-${task.id}-${checkpointId}-`)
}

/** Scratch copies live in the task's local root, beside (not inside) this node's secondary copies. */
export function scratchDir(ctx: LocalScope, task: TaskSpec): string {
  return path.join(ctx.secondary.rootFor(ctx.job.tasks.indexOf(task)), SCRATCH, ctx.node, ctx.job.name)
}

/** The mkdtemp prefix of one scratch copy, named for this process. */
export function scratchPrefix(ctx: LocalScope, task: TaskSpec, checkpointId: string): string {
  return path.join(scratchDir(ctx, task), `${process.pid}-${task.id}-${checkpointId}-`)
}

/** The pid at the start of a name ("1234-..."), if any. */
function leadingPid(name: string): number | undefined {
  const match = /^(\d+)-/.exec(name)
  return match ? Number(match[1]) : undefined
}

/** The pid in a partial copy's folder name (CHK.partial-PID-RANDOM), if any. */
export function partialPid(dir: string): number | undefined {
  const name = path.basename(dir)
  const at = name.indexOf(PARTIAL)
  return at < 0 ? undefined : leadingPid(name.slice(at + PARTIAL.length))
}

/**
 * Every leftover of this node and job; snapshot folders of any job (a dead process's is garbage to
 * all). `which` picks by pid before anything is sized, so a take's own sweep walks only what it removes.
 */
export async function findLeftovers(ctx: LocalScope, which: (pid: number | undefined) => boolean = () => true): Promise<Leftover[]> {
  const found: Array<{kind: LeftoverKind; path: string; pid?: number}> = []
  for (const name of await readdirOrEmpty(tmpdir())) {
    if (name.startsWith(SNAPSHOT_PREFIX)) found.push({kind: 'snapshot', path: path.join(tmpdir(), name), pid: leadingPid(name.slice(SNAPSHOT_PREFIX.length))})
  }
  for (const root of new Set(ctx.secondary.roots)) {
    for (const name of await readdirOrEmpty(root)) if (name.startsWith(OLD_SNAPSHOT_PREFIX)) found.push({kind: 'snapshot', path: path.join(root, name)})
    const scratch = path.join(root, SCRATCH, ctx.node, ctx.job.name)
    for (const name of await readdirOrEmpty(scratch)) found.push({kind: 'scratch', path: path.join(scratch, name), pid: leadingPid(name)})
  }
  for (const copy of await ctx.secondary.list()) if (copy.partial) found.push({kind: 'partial', path: copy.dir, pid: partialPid(copy.dir)})
  const out: Leftover[] = []
  for (const item of found.filter((f) => which(f.pid))) {
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
