// Captures a task's state for a checkpoint: its snapshot command fills an empty folder, or the
// stateDir itself is read (the caller pauses a running task around that read).
import * as fs from 'node:fs/promises'
import type {JobSpec, TaskSpec} from '../config/job-file.js'
import type {EntryV2} from '../format/index2.js'
import {OperationError} from '../errors.js'
import {interruptSignal} from '../interrupt.js'
import {snapshotPrefix} from '../local/layout.js'
import {describeExit, runChild, succeeded} from '../util/child.js'
import {removeTree} from '../util/remove-tree.js'
import {taskEnvironment} from '../util/task-env.js'

export interface CapturedState {
  /** The folder to read the task's state from. */
  sourceDir: string
  /** Where the state folder's own mode and owner are read, when not from sourceDir (a snapshot folder is ckpt's). */
  rootDir?: string
  /** Removes what the capture made (a snapshot folder). */
  release(): Promise<void>
  /**
   * Format 2, a paused capture: the scan of the live stateDir made during the pause (its stamps
   * are the live files'), and the files it copied to sourceDir; the others are unchanged since the base.
   */
  scan?: {entries: EntryV2[]; startedMs: number; copied: Set<string>}
}

/** A snapshot folder lives in the OS temp folder (TMPDIR), not in a local root: a local root that fails must not fail the primary copy. */
export async function captureTask(job: JobSpec, task: TaskSpec, checkpointId: string): Promise<CapturedState> {
  if (!task.snapshot) return {sourceDir: task.stateDir, release: async () => {}}
  const snapshotDir = await fs.mkdtemp(snapshotPrefix(task.id, checkpointId))
  const release = () => removeTree(snapshotDir)
  // A snapshot command run as the task's user fills a folder of that user's.
  if (task.user) await fs.chown(snapshotDir, task.user.uid, task.user.gid)
  const timeoutMs = task.snapshot.timeoutMs ?? job.checkpoint.timeoutMs
  const result = await runChild(task.snapshot.command, {
    cwd: job.baseDir,
    timeoutMs,
    user: task.user,
    signal: interruptSignal,
    env: taskEnvironment(task, {
      CKPT_JOB: job.name,
      CKPT_TASK_ID: task.id,
      CKPT_CHECKPOINT_ID: checkpointId,
      CKPT_STATE_DIR: task.stateDir,
      CKPT_SNAPSHOT_DIR: snapshotDir,
    }),
  })
  if (!succeeded(result)) {
    await release()
    throw new OperationError(`task ${task.id}: snapshot command ${describeExit(result, timeoutMs)}`)
  }
  return {sourceDir: snapshotDir, rootDir: task.stateDir, release}
}
