// Stages one task's state beside its stateDir: verified local files first, the rest from the primary.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {randomBytes} from '../util/crypto.js'
import type {JobContext} from '../context.js'
import type {FileEntry} from '../checkpoint/manifest.js'
import {mapLimit} from '../util/pool.js'
import {removeTree} from '../util/remove-tree.js'
import {copyVerified, targetPath} from './files.js'
import {fetchFiles} from './fetch.js'
import {DEFAULT_BLOCK_SIZE, DEFAULT_CONCURRENCY} from '../stores/store.js'
import {describe, remotePlan, totalBytes, type TaskPlan, type TaskWork} from './plan.js'
import {applyFolderModes} from '../archive/tree.js'
import {pidAlive} from '../util/process.js'

export const STAGING = '.ckpt-restore-'
const LOCAL_COPIES = 32
const OLD = '.ckpt-old-'

export interface StagedTask {
  work: TaskWork
  plan: TaskPlan
  stagingDir: string
}

export interface StageOptions {
  onProgress?: (taskId: string, bytes: number, total: number) => void
}

/** A folder beside stateDir named for this process, so a concurrent restore can tell it is live. */
function sibling(stateDir: string, marker: string): string {
  return path.join(path.dirname(stateDir), `.${path.basename(stateDir)}${marker}${process.pid}-${randomBytes(4).toString('hex')}`)
}

/** Removes staging and swap leftovers of interrupted restores of this stateDir; a live restore's folders stay. */
export async function cleanLeftovers(stateDir: string): Promise<void> {
  const parent = path.dirname(stateDir)
  const prefix = `.${path.basename(stateDir)}`
  let names: string[] = []
  try {
    names = await fs.readdir(parent)
  } catch {
    return
  }
  for (const marker of [STAGING, OLD]) {
    for (const name of names.filter((n) => n.startsWith(prefix + marker))) {
      const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length + marker.length))?.[1])
      if (pid === process.pid || !pidAlive(pid)) await removeTree(path.join(parent, name))
    }
  }
}

export async function stageTask(ctx: JobContext, work: TaskWork, checkpointId: string, options: StageOptions = {}): Promise<StagedTask> {
  const {task, entries} = work
  await fs.mkdir(path.dirname(task.stateDir), {recursive: true})
  await cleanLeftovers(task.stateDir)
  const stagingDir = sibling(task.stateDir, STAGING)
  await fs.mkdir(stagingDir, {mode: 0o700})
  try {
    for (const entry of entries) if (entry.type === 'dir') await fs.mkdir(targetPath(stagingDir, entry.path), {recursive: true, mode: 0o700})
    const files = entries.filter((e) => e.type === 'file')
    const total = totalBytes(entries)
    let done = 0
    const progress = (bytes: number) => options.onProgress?.(task.id, (done += bytes), total)

    const copy = work.copy
    const copyOne = async (entry: FileEntry) => {
      let copied = 0
      const ok = await copyVerified(targetPath(copy!.stateDir, entry.path), targetPath(stagingDir, entry.path), entry, (bytes) => {
        copied += bytes
        progress(bytes)
      })
      // Bytes of a file that failed verification are counted again when the primary sends them.
      if (!ok) progress(-copied)
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
    await fetchFromPrimary(ctx, work, missing, stagingDir, checkpointId, progress)

    for (const entry of entries) if (entry.type === 'symlink') await fs.symlink(entry.target!, targetPath(stagingDir, entry.path))
    await applyFolderModes(stagingDir, entries)
    const plan = copy ? describe(task.id, checkpointId, files, good, copy) : remotePlan(work, checkpointId)
    return {work, plan, stagingDir}
  } catch (error) {
    await removeTree(stagingDir).catch(() => {})
    throw error
  }
}

/** Fetches the files the local copy could not give from the task's primary archive. */
async function fetchFromPrimary(ctx: JobContext, work: TaskWork, missing: FileEntry[], stagingDir: string, checkpointId: string, progress: (bytes: number) => void): Promise<void> {
  await fetchFiles({
    store: ctx.store,
    archive: work.record.archive,
    files: missing,
    targetOf: (entry) => targetPath(stagingDir, entry.path),
    where: `checkpoint ${checkpointId} task ${work.task.id}`,
    blockSize: ctx.settings.transfer.blockSize ?? DEFAULT_BLOCK_SIZE,
    concurrency: ctx.settings.transfer.concurrency ?? DEFAULT_CONCURRENCY,
    onBytes: progress,
  })
}

/** Swaps a staged task into its stateDir: the old state moves aside, the new one in, the old one goes. */
export async function swapIntoPlace(staged: StagedTask): Promise<void> {
  const stateDir = staged.work.task.stateDir
  const old = sibling(stateDir, OLD)
  let moved = false
  try {
    await fs.rename(stateDir, old)
    moved = true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  await fs.rename(staged.stagingDir, stateDir)
  await fs.chmod(stateDir, 0o755)
  if (moved) await removeTree(old)
}

export async function discardStaged(staged: StagedTask[]): Promise<void> {
  await Promise.all(staged.map((s) => removeTree(s.stagingDir).catch(() => {})))
}
