// Captures a task's state for a checkpoint: its snapshot command fills an empty folder, or the
// stateDir itself is read (the caller pauses a running task around that read).
import * as fs from 'node:fs/promises'
import {tmpdir} from 'node:os'
import * as path from 'node:path'
import type {JobSpec, TaskSpec} from '../config/job-file.js'
import {OperationError} from '../errors.js'
import {describeFailure, runChild} from '../util/child.js'
import {removeTree} from '../util/remove-tree.js'
import {taskEnvironment} from '../util/task-env.js'

export interface CapturedState {
  /** The folder to read the task's state from. */
  sourceDir: string
  /** Removes what the capture made (a snapshot folder). */
  release(): Promise<void>
}

export async function captureTask(job: JobSpec, task: TaskSpec, checkpointId: string, workDir: string | undefined): Promise<CapturedState> {
  if (!task.snapshot) return {sourceDir: task.stateDir, release: async () => {}}
  const parent = await firstWritable([workDir, tmpdir()])
  const snapshotDir = await fs.mkdtemp(path.join(parent, `.snapshot-${task.id}-${checkpointId}-`))
  const release = () => removeTree(snapshotDir)
  const timeoutMs = task.snapshot.timeoutMs ?? job.checkpoint.timeoutMs
  const result = await runChild(task.snapshot.command, {
    cwd: job.baseDir,
    timeoutMs,
    env: taskEnvironment(task, {
      CKPT_JOB: job.job,
      CKPT_TASK_ID: task.id,
      CKPT_CHECKPOINT_ID: checkpointId,
      CKPT_STATE_DIR: task.stateDir,
      CKPT_SNAPSHOT_DIR: snapshotDir,
    }),
  })
  if (result.timedOut || result.exitCode !== 0) {
    await release()
    throw new OperationError(`task ${task.id}: snapshot command ${describeFailure(result, timeoutMs)}`)
  }
  return {sourceDir: snapshotDir, release}
}

async function firstWritable(candidates: Array<string | undefined>): Promise<string> {
  for (const dir of candidates) {
    if (!dir) continue
    try {
      await fs.mkdir(dir, {recursive: true})
      await fs.access(dir, fs.constants.W_OK)
      return dir
    } catch {
      // try the next one
    }
  }
  return tmpdir()
}
