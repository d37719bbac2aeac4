// A task's place in a run: its spec, its current process and where it stands.
import {mkdirSync} from 'node:fs'
import type {JobSpec, TaskSpec} from '../config/job-file.js'
import {OperationError} from '../errors.js'
import {giveEmptyStateDir} from '../archive/owners.js'
import {taskEnvironment} from '../util/task-env.js'
import type {TaskSummary} from './summary.js'
import type {ChildExit, OutputStream} from '../util/child.js'
import {TaskProcess} from './task-process.js'

/**
 * idle: not started (or has no command); running; finished: exited 0, not restarted;
 * failed: exited otherwise, failover decided; restarting: stopped for a failover;
 * stopped: stopped because the run ends.
 */
export type SlotState = 'idle' | 'running' | 'finished' | 'failed' | 'restarting' | 'stopped'

export class Slot {
  proc?: TaskProcess
  state: SlotState = 'idle'
  starts = 0
  lastExit?: ChildExit

  constructor(readonly task: TaskSpec) {}

  /** The process to pause for a capture; none when nothing runs the task; an error when it must not be captured now. */
  processForCapture(): TaskProcess | undefined {
    const id = this.task.id
    if (this.state === 'failed' || this.state === 'restarting') throw new OperationError(`task ${id} failed and awaits recovery; it is not captured`)
    if (!this.proc) return undefined
    if (!this.proc.running) throw new OperationError(`task ${id} has just exited; it is not captured`)
    if (this.state !== 'running') throw new OperationError(`task ${id} is being stopped; it is not captured`)
    return this.proc
  }

  summary(): TaskSummary {
    return {
      taskId: this.task.id,
      starts: this.starts,
      state: this.state,
      ...(this.lastExit ? {lastExit: {exitCode: this.lastExit.exitCode, signal: this.lastExit.signal}} : {}),
    }
  }
}

/** Starts a slot's command in its own process group, in the job file's folder. */
export function startTask(job: JobSpec, slot: Slot, restoredFrom: string, onLine: (stream: OutputStream, line: string) => void): TaskProcess {
  const {task} = slot
  mkdirSync(task.stateDir, {recursive: true})
  if (task.user) giveEmptyStateDir(task.stateDir, task.user)
  const proc = new TaskProcess({
    taskId: task.id,
    command: task.command!,
    cwd: job.baseDir,
    env: taskEnvironment(task, {CKPT_TASK_ID: task.id, CKPT_STATE_DIR: task.stateDir, CKPT_RESTORED_FROM: restoredFrom}),
    onLine,
    user: task.user,
  })
  slot.proc = proc
  slot.state = 'running'
  slot.starts++
  return proc
}
