// The capture that `ckpt run` hands to takeCheckpoint: a task without a snapshot command is
// paused (SIGSTOP on its process group) only while its stateDir is copied to a scratch folder on
// local disk, then resumed; the primary and secondary copies are written from the scratch copy
// after the task runs again, so the pause lasts about as long as a local copy of the state.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {captureTask, type CapturedState} from '../capture/capture.js'
import type {TaskSpec} from '../config/job-file.js'
import type {JobContext} from '../context.js'
import {OperationError, messageOf} from '../errors.js'
import {mapLimit} from '../util/pool.js'
import {removeTree} from '../util/remove-tree.js'
import type {CaptureHint} from '../checkpoint/take2.js'
import {copyChanged, copyTree} from './copy-tree.js'
import type {TaskProcess} from './task-process.js'

export interface PauseRecord {
  taskId: string
  checkpointId: string
  pauseMs: number
  /** Bytes copied while the task was paused (format 2: only files changed since the base). */
  copiedBytes?: number
}

/** What the run says of a task at capture time: its running process, none (nothing runs it), or why it cannot be captured. */
export type ProcessLookup = (taskId: string) => TaskProcess | undefined

/** Removes scratch copies that an earlier, interrupted run left behind (the run record makes this run the only one of the job on this node). */
export async function cleanScratch(ctx: JobContext): Promise<void> {
  const layout = ctx.secondary.layout
  // scratch of an earlier run: what cannot be removed now is tried again at the next start
  await mapLimit([...new Set(layout.roots)], 4, (root) => removeTree(layout.scratchDir(root)).catch(() => {}))
}

export function pausingCapture(ctx: JobContext, lookup: ProcessLookup, onPause: (record: PauseRecord) => void) {
  return async (task: TaskSpec, checkpointId: string, hint?: CaptureHint): Promise<CapturedState> => {
    const proc = lookup(task.id)
    if (task.snapshot) return captureTask(ctx.job, task, checkpointId)
    // Nothing runs this task now and restores wait for the checkpoint: its stateDir holds still.
    if (!proc) return {sourceDir: task.stateDir, release: async () => {}}

    const layout = ctx.secondary.layout
    const root = layout.rootFor(ctx.job.tasks.indexOf(task))
    const parent = layout.scratchDir(root)
    let target: string | undefined
    let copy: Awaited<ReturnType<typeof copyTree>> | undefined
    let failure: unknown
    const started = performance.now()
    await proc.pause()
    try {
      await fs.mkdir(parent, {recursive: true})
      target = await fs.mkdtemp(layout.scratchPrefix(root, task.id, checkpointId))
      // Format 2: only what changed since the base is copied while the task is stopped.
      copy = hint ? await copyChanged(task.stateDir, path.join(target, 'state'), hint) : await copyTree(task.stateDir, path.join(target, 'state'))
    } catch (error) {
      failure = error
    } finally {
      proc.resume()
      onPause({taskId: task.id, checkpointId, pauseMs: performance.now() - started, ...(copy ? {copiedBytes: copy.bytes} : {})})
    }
    const release = async () => {
      if (target) await removeTree(target)
    }
    try {
      if (!copy) throw failure
      await copy.finish()
    } catch (error) {
      // the capture's own error is thrown below; its scratch copy is removed at the next start
      await release().catch(() => {})
      throw new OperationError(`task ${task.id}: could not copy its state to ${parent} while it was paused (${messageOf(error)})`, {cause: error})
    }
    return {sourceDir: path.join(target!, 'state'), rootDir: task.stateDir, release, ...(copy.scan ? {scan: copy.scan} : {})}
  }
}
