// Folders that must not overlap: a restore empties a stateDir, so it must not hold the primary, a
// local root, the job file or another task's state. Compared by real path, through links.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {UsageError} from '../errors.js'
import type {JobSpec} from './job-file.js'

/** The real path of p: its longest existing ancestor resolved through links, the rest appended. */
export async function realPathOf(p: string): Promise<string> {
  const absolute = path.resolve(p)
  try {
    return await fs.realpath(absolute)
  } catch {
    const parent = path.dirname(absolute)
    if (parent === absolute) return absolute
    return path.join(await realPathOf(parent), path.basename(absolute))
  }
}

function contains(outer: string, inner: string): boolean {
  return inner === outer || inner.startsWith(outer.endsWith(path.sep) ? outer : outer + path.sep)
}

/** Local roots with those that are one folder (through a link) listed once, the first name kept. */
export async function distinctRoots(roots: string[]): Promise<string[]> {
  const seen = new Set<string>()
  const kept: string[] = []
  for (const root of roots) {
    const real = await realPathOf(root)
    if (seen.has(real)) continue
    seen.add(real)
    kept.push(root)
  }
  return kept
}

/** Refuses (exit 2, naming both paths) stateDirs that hold the primary folder, a local root, the job file or each other, or lie inside the primary or a local root. */
export async function checkOverlaps(job: JobSpec, primaryFolder: string | undefined, localRoots: string[]): Promise<void> {
  const states = await Promise.all(job.tasks.map(async (t, i) => ({name: `tasks[${i}].stateDir ${t.stateDir}`, real: await realPathOf(t.stateDir)})))
  // `holds`: ckpt's own folders, which a stateDir may not lie inside either (prune and local prune remove what they do not know).
  const others: Array<{name: string; real: string; holds: boolean}> = [{name: `the job file ${job.file}`, real: await realPathOf(job.file), holds: false}]
  if (primaryFolder !== undefined) others.push({name: `the primary store ${primaryFolder}`, real: await realPathOf(primaryFolder), holds: true})
  for (const root of localRoots) others.push({name: `the local root ${root}`, real: await realPathOf(root), holds: true})
  const problems: string[] = []
  for (const [i, state] of states.entries()) {
    for (const other of others) {
      if (contains(state.real, other.real)) problems.push(`${state.name} contains ${other.name}; a restore empties a stateDir, so move one of them`)
      else if (other.holds && contains(other.real, state.real)) problems.push(`${state.name} lies inside ${other.name}, whose contents ckpt manages and prunes; move one of them`)
    }
    for (const later of states.slice(i + 1)) {
      if (contains(state.real, later.real) || contains(later.real, state.real)) problems.push(`${state.name} and ${later.name} overlap; give each task a folder of its own, outside the others`)
    }
  }
  if (problems.length > 0) throw new UsageError(`job file ${job.file}: ${problems.join('; ')}`)
}
