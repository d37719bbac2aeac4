// Stages one task's state beside its stateDir: verified local files first, the rest from the primary.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import type {JobContext} from '../context.js'
import type {FileEntry} from '../format/manifest.js'
import {mapLimit} from '../util/pool.js'
import {removeTree} from '../util/remove-tree.js'
import {copyVerified, targetPath} from './verified-copy.js'
import {fetchFiles} from './fetch.js'
import {DEFAULT_BLOCK_SIZE, DEFAULT_CONCURRENCY} from '../stores/store.js'
import {describe, remotePlan, totalBytes, type TaskPlan, type TaskWork} from './plan.js'
import type {TaskWorkV2} from './plan2.js'
import {applyFolderModes} from '../archive/tree.js'
import {finishStateRoot} from '../archive/owners.js'
import {OperationError} from '../errors.js'
import {startPhase, type PhaseProgress, type ProgressCounts, type ProgressListener} from '../progress.js'
import {STAGING, stateDirOf} from '../local/state-dir.js'
import {cleanLeftovers, sibling} from './swap.js'

const LOCAL_COPIES = 32

export interface StagedTask {
  work: TaskWork | TaskWorkV2
  plan: TaskPlan
  /** The folder that really holds the state (a stateDir that is a link: its target). */
  stateDir: string
  stagingDir: string
}

export interface StageOptions {
  progress?: ProgressListener
}

/** Stages a format-1 task (stage2.ts stages format 2). */
export async function stageTask(ctx: JobContext, work: TaskWork, checkpointId: string, options: StageOptions = {}): Promise<StagedTask> {
  const {task, entries} = work
  const stateDir = await stateDirOf(task.stateDir)
  await fs.mkdir(path.dirname(stateDir), {recursive: true})
  await cleanLeftovers(stateDir)
  const stagingDir = sibling(stateDir, STAGING)
  try {
    await fs.mkdir(stagingDir, {mode: 0o700})
    for (const entry of entries) if (entry.type === 'dir') await fs.mkdir(targetPath(stagingDir, entry.path), {recursive: true, mode: 0o700})
    const files = entries.filter((e) => e.type === 'file')
    const copy = work.copy
    // Verifying the local copy, then reading from the primary what it could not give: each phase's totals are known before it starts.
    const verifying = copy ? startPhase(options.progress, task.id, 'verifying', countsOf(files)) : undefined
    const copyOne = async (entry: FileEntry) => {
      const ok = await copyVerified(targetPath(copy!.stateDir, entry.path), targetPath(stagingDir, entry.path), entry)
      verifying?.advance(entry.size, 1)
      return ok
    }
    // Copies run in the kernel and hashing on worker threads, so many at once cost no memory:
    // small files are bound by open/close latency, big ones by copy and hash throughput.
    const verified = new Set<FileEntry>()
    if (copy) {
      await mapLimit(files, LOCAL_COPIES, async (entry) => {
        if (await copyOne(entry)) verified.add(entry)
      })
    }
    const good = files.map((e) => verified.has(e))
    const missing = files.filter((_, i) => !good[i])
    verifying?.end()
    const reading = missing.length > 0 || !copy ? startPhase(options.progress, task.id, 'reading', countsOf(missing)) : undefined
    await fetchFromPrimary(ctx, work, missing, stagingDir, checkpointId, reading)
    reading?.end()

    for (const entry of entries) if (entry.type === 'symlink') await fs.symlink(entry.target!, targetPath(stagingDir, entry.path))
    await applyFolderModes(stagingDir, entries)
    await finishStateRoot(stagingDir, entries, work.root)
    const plan = copy ? describe(task.id, checkpointId, files, good, copy) : remotePlan(work, checkpointId)
    return {work, plan, stateDir, stagingDir}
  } catch (error) {
    // staging is discarded after a failure that is thrown below; leftovers are cleaned by the next restore
    await removeTree(stagingDir).catch(() => {})
    if (isNoSpace(error)) throw noSpace(task.id, stateDir, totalBytes(entries), error)
    throw error
  }
}

/** Fetches the files the local copy could not give from the task's primary archive. */
async function fetchFromPrimary(ctx: JobContext, work: TaskWork, missing: FileEntry[], stagingDir: string, checkpointId: string, progress?: PhaseProgress): Promise<void> {
  await fetchFiles({
    primary: ctx.primary,
    archive: work.record.archive,
    files: missing,
    targetOf: (entry) => targetPath(stagingDir, entry.path),
    where: `checkpoint ${checkpointId} task ${work.task.id}`,
    blockSize: ctx.settings.transfer.blockSize ?? DEFAULT_BLOCK_SIZE,
    concurrency: ctx.settings.transfer.concurrency ?? DEFAULT_CONCURRENCY,
    onBytes: (bytes) => progress?.advance(bytes),
    onFile: () => progress?.advance(0, 1),
  })
}

function countsOf(files: FileEntry[]): ProgressCounts {
  return {bytes: files.reduce((sum, e) => sum + e.size, 0), files: files.length}
}

export function isNoSpace(error: unknown): boolean {
  for (let e = error as {code?: string; cause?: unknown} | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.code === 'ENOSPC' || e.code === 'EDQUOT') return true
  }
  return false
}

export function noSpace(taskId: string, stateDir: string, bytes: number, cause: unknown): OperationError {
  const parent = path.dirname(stateDir)
  return new OperationError(
    `task ${taskId}: no space left in ${parent} while staging the restore: a restore writes the new state (${bytes} bytes of files) beside the old one in ${stateDir} ` +
      `and swaps them, so ${parent} needs room for the old and the new state side by side; free space there and restore again (the old state is untouched)`,
    {cause},
  )
}

export async function discardStaged(staged: StagedTask[]): Promise<void> {
  // discarding staging after a failure that the caller throws; leftovers are cleaned by the next restore
  await mapLimit(staged, 4, (s) => removeTree(s.stagingDir).catch(() => {}))
}
