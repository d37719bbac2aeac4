// Stages one format-2 task beside its stateDir: per file of the index, in order, the current
// stateDir's bytes, then the local copy's, then the primary's (docs/FORMAT.md, "Format 2").
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import type {JobContext} from '../context.js'
import type {EntryV2} from '../format/index2.js'
import type {StateRoot} from '../format/manifest.js'
import {applyStateRoot, canChown, giveOwner} from '../archive/owners.js'
import {digestReady} from '../util/digest.js'
import {mapLimit} from '../util/pool.js'
import {lstatOrUndefined, removeTree} from '../util/remove-tree.js'
import {startPhase, type ProgressListener} from '../progress.js'
import {STAGING, stateDirOf} from '../local/state-dir.js'
import {cleanLeftovers, sibling} from './swap.js'
import {DiskSources, type Pending} from './disk-sources.js'
import {fetchMissing} from './blobs.js'
import {sourceOf, type SourceBytes, type TaskWorkV2} from './plan2.js'
import type {TaskPlan} from './plan.js'
import {isNoSpace, noSpace, type StagedTask} from './stage.js'
import {targetPath} from './verified-copy.js'
import {hashWorkersPay, timeOf, warmHashWorkers} from './in-place.js'

/**
 * Files staged from disk at once: each holds at most one blob in memory while it is checked (a big
 * one hashed on a worker holds none), and copies go on while the workers hash.
 */
const DISK_FILES = 16

export async function stageTaskV2(ctx: JobContext, work: TaskWorkV2, checkpointId: string, options: {progress?: ProgressListener} = {}): Promise<StagedTask> {
  const {task, entries} = work
  const stateDir = await stateDirOf(task.stateDir)
  await fs.mkdir(path.dirname(stateDir), {recursive: true})
  await cleanLeftovers(stateDir)
  const stagingDir = sibling(stateDir, STAGING)
  const files = entries.filter((e) => e.type === 'file')
  try {
    await digestReady(work.index.digest)
    // The hash workers start while folders are made and the first files copied; only the disk's
    // files are hashed by them (the primary's blobs are checked as they arrive).
    const workers = (work.inPlace || work.copy !== undefined) && hashWorkersPay(files, work.index.digest)
    if (workers) warmHashWorkers(work.index.digest)
    await fs.mkdir(stagingDir, {mode: 0o700})
    for (const entry of entries) if (entry.type === 'dir') await fs.mkdir(targetPath(stagingDir, entry.path), {recursive: true, mode: 0o700})
    const bytes: SourceBytes = {inPlaceBytes: 0, localBytes: 0, remoteBytes: 0}
    const disk = new DiskSources(work, stateDir, stagingDir, bytes, workers)
    const verifying = startPhase(options.progress, task.id, 'verifying', countsOf(files))
    const pending: Pending[] = []
    await mapLimit(files, DISK_FILES, async (entry) => {
      const missing = await disk.stage(entry)
      if (missing.length > 0) pending.push({entry, missing, fresh: missing.length === entry.blobs!.length && disk.fresh.delete(entry)})
      verifying?.advance(entry.size, 1)
    })
    verifying?.end()
    if (pending.length > 0) {
      const wanted = pending.reduce((sum, p) => sum + p.missing.reduce((s, i) => s + p.entry.blobs![i][2], 0), 0)
      const reading = startPhase(options.progress, task.id, 'reading', {bytes: wanted, files: pending.length})
      await fetchMissing(ctx, work, stagingDir, pending, bytes, checkpointId, reading)
      reading?.end()
    }
    for (const entry of entries) if (entry.type === 'symlink') await fs.symlink(entry.target!, targetPath(stagingDir, entry.path))
    await finishFolders(stagingDir, entries, work.root)
    const hadLocal = work.copy !== undefined || (work.inPlace && (await lstatOrUndefined(stateDir)) !== undefined)
    const plan: TaskPlan = {taskId: task.id, checkpointId, source: sourceOf(bytes, hadLocal), ...bytes, reason: reasonOf(work, bytes, files)}
    return {work, plan, stateDir, stagingDir}
  } catch (error) {
    // staging is discarded after a failure that is thrown below; leftovers are cleaned by the next restore
    await removeTree(stagingDir).catch(() => {})
    if (isNoSpace(error))
      throw noSpace(
        task.id,
        stateDir,
        files.reduce((sum, e) => sum + e.size, 0),
        error,
      )
    throw error
  }
}

function countsOf(files: EntryV2[]) {
  return {bytes: files.reduce((sum, e) => sum + e.size, 0), files: files.length}
}

function reasonOf(work: TaskWorkV2, bytes: SourceBytes, files: EntryV2[]): string {
  const parts = [`${files.length} file${files.length === 1 ? '' : 's'} checked by blob digests`]
  if (work.inPlace) parts.push(`${bytes.inPlaceBytes} bytes kept from the stateDir`)
  parts.push(work.copy ? `${bytes.localBytes} bytes from the secondary copy in ${work.copy.root}` : (work.noLocalReason ?? 'no secondary copy'))
  if (bytes.remoteBytes > 0) parts.push(`${bytes.remoteBytes} bytes from the primary`)
  return parts.join('; ')
}

/** Folders (deepest first, so a read-only one does not block its children), symlink owners, then the state folder itself; times to the microsecond. */
async function finishFolders(stagingDir: string, entries: EntryV2[], root: StateRoot | undefined): Promise<void> {
  for (const entry of [...entries].reverse()) {
    if (entry.type === 'symlink' && canChown()) await giveOwner(targetPath(stagingDir, entry.path), entry)
    if (entry.type !== 'dir') continue
    const target = targetPath(stagingDir, entry.path)
    await giveOwner(target, entry)
    await fs.chmod(target, entry.mode & 0o7777)
    await fs.utimes(target, timeOf(entry), timeOf(entry))
  }
  if (!root) return applyStateRoot(stagingDir, root)
  await giveOwner(stagingDir, root)
  await fs.chmod(stagingDir, root.mode & 0o7777)
  await fs.utimes(stagingDir, timeOf(root), timeOf(root))
}
