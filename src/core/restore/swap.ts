// Swapping staged states into their stateDirs, all or none, and recovering from a swap that was
// killed half way. Crash-safe order per task: the old state moves aside (OLD), the staged one moves
// in; the olds are removed only once every task is swapped. A dead process's OLD with no stateDir
// in its place is the only copy of that state, and the next restore puts it back (cleanLeftovers).
import type {Stats} from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {OperationError, messageOf} from '../errors.js'
import {randomBytes} from '../util/crypto.js'
import {pidAlive} from '../util/process.js'
import {lstatOrUndefined, removeTree} from '../util/remove-tree.js'

import {OLD, STAGING} from '../local/state-dir.js'

export interface Swap {
  taskId: string
  /** The folder that really holds the state (stateDirOf). */
  stateDir: string
  stagingDir: string
}

/** A folder beside stateDir named for this process, so a concurrent restore can tell it is live. */
export function sibling(stateDir: string, marker: string): string {
  return path.join(path.dirname(stateDir), `.${path.basename(stateDir)}${marker}${process.pid}-${randomBytes(4).toString('hex')}`)
}

/** Refuses a stateDir that a rename cannot move: a mount point (rename fails with EBUSY). */
export async function checkSwappable(taskId: string, stateDir: string): Promise<void> {
  const st = await lstatOrUndefined(stateDir)
  if (!st?.isDirectory()) return
  if (await isMountPoint(stateDir, st)) {
    throw new OperationError(
      `task ${taskId}: stateDir ${stateDir} is a mount point; a restore replaces the state folder by renaming it, which a mount point refuses. ` +
        `Make stateDir a folder inside the mount (e.g. ${path.join(stateDir, 'state')}); no task was changed`,
    )
  }
}

/**
 * By the mount table where there is one (a bind mount keeps its device, and a btrfs subvolume has
 * a device of its own without being a mount point), else by a device that differs from the parent's.
 */
async function isMountPoint(dir: string, st: Stats): Promise<boolean> {
  let table: string
  try {
    table = await fs.readFile('/proc/self/mountinfo', 'utf8')
  } catch {
    return st.dev !== (await fs.stat(path.dirname(dir))).dev
  }
  const real = await fs.realpath(dir)
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)))
  return table.split('\n').some((line) => line.split(' ')[4] !== undefined && unescape(line.split(' ')[4]) === real)
}

/**
 * Swaps every staged task into place, or none: when a swap fails, the tasks already swapped get
 * their old state back, so the job stays on one checkpoint. The caller discards the staging folders.
 */
export async function swapAll(swaps: Swap[], onWarning?: (message: string) => void): Promise<void> {
  for (const s of swaps) await checkSwappable(s.taskId, s.stateDir)
  const done: Array<{swap: Swap; old?: string}> = []
  for (const s of swaps) {
    const old = sibling(s.stateDir, OLD)
    let moved = false
    try {
      moved = await renameUnlessMissing(s.stateDir, old)
      // Test-only: a kill -9 between the two renames (test/commands/restore-fs.test.ts).
      if (process.env.CKPT_TEST_CRASH_AT === 'swap') process.kill(process.pid, 'SIGKILL')
      await fs.rename(s.stagingDir, s.stateDir)
    } catch (error) {
      const kept = await putBack([...done, {swap: s, old: moved ? old : undefined, half: true}])
      const code = (error as NodeJS.ErrnoException).code ?? messageOf(error)
      const after = kept ? 'every task keeps the state it had before this restore' : `not every task could be put back: the old states left are the ${OLD}* folders beside the stateDirs`
      throw new OperationError(`task ${s.taskId}: cannot swap the restored state into ${s.stateDir} (${code}); ${after}`, {cause: error})
    }
    done.push({swap: s, old: moved ? old : undefined})
  }
  for (const {swap, old} of done) {
    // Every task is on the new checkpoint now: an old state that will not go is only a leftover.
    if (old) await removeTree(old).catch((error: unknown) => onWarning?.(`task ${swap.taskId}: cannot remove the previous state ${old} (${messageOf(error)}); remove it by hand`))
  }
}

/**
 * Undoes swaps, newest first: the new state goes back to its staging folder, the old one into place
 * (`half`: the failed task, whose new state never moved in). False when one could not be undone.
 */
async function putBack(done: Array<{swap: Swap; old?: string; half?: boolean}>): Promise<boolean> {
  let all = true
  for (const {swap, old, half} of done.reverse()) {
    try {
      if (!half) await fs.rename(swap.stateDir, swap.stagingDir)
      if (old) await fs.rename(old, swap.stateDir)
    } catch {
      // The old state stays aside under its OLD name; the next restore puts it back (cleanLeftovers).
      all = false
    }
  }
  return all
}

async function renameUnlessMissing(from: string, to: string): Promise<boolean> {
  try {
    await fs.rename(from, to)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw error
  }
}

interface Leftover {
  path: string
  marker: string
  ctimeMs: number
}

/**
 * Clears what interrupted restores of this stateDir left beside it; a live restore's folders stay,
 * and so does anything that is not a real folder (a link is never followed). A state moved aside
 * by a swap that was killed is put back when nothing whole is in its place (no stateDir, or an empty one).
 */
export async function cleanLeftovers(stateDir: string): Promise<void> {
  const found = await leftoversOf(stateDir)
  const olds = found.filter((f) => f.marker === OLD).sort((a, b) => b.ctimeMs - a.ctimeMs)
  if (olds.length > 0 && (await emptyOrMissing(stateDir))) {
    // only an empty folder goes; if it cannot, it stays and nothing is lost
    await fs.rmdir(stateDir).catch(() => {})
    await fs.rename(olds[0].path, stateDir)
    found.splice(found.indexOf(olds[0]), 1)
  }
  for (const leftover of found) await removeTree(leftover.path)
}

async function leftoversOf(stateDir: string): Promise<Leftover[]> {
  const parent = path.dirname(stateDir)
  const prefix = `.${path.basename(stateDir)}`
  let names: string[]
  try {
    names = await fs.readdir(parent)
  } catch {
    // no parent folder: no leftovers of an earlier restore
    return []
  }
  const found: Leftover[] = []
  for (const marker of [STAGING, OLD]) {
    for (const name of names.filter((n) => n.startsWith(prefix + marker))) {
      const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length + marker.length))?.[1])
      if (pid !== process.pid && pidAlive(pid)) continue
      const st = await lstatOrUndefined(path.join(parent, name))
      if (st?.isDirectory()) found.push({path: path.join(parent, name), marker, ctimeMs: st.ctimeMs})
    }
  }
  return found
}

async function emptyOrMissing(dir: string): Promise<boolean> {
  const st = await lstatOrUndefined(dir)
  if (!st) return true
  return st.isDirectory() && (await fs.readdir(dir)).length === 0
}
