// Which tasks a `ckpt run` runs: the ones `--task` names, else the ones whose job-file entry names
// this node; without either the run is the single-node run of every task.
import type {JobSpec, TaskSpec} from '../config/job-file.js'
import {UsageError} from '../errors.js'

export interface Assignment {
  /** The run is one participant of a many-node job. */
  cluster: boolean
  tasks: TaskSpec[]
}

export function assignTasks(job: JobSpec, node: string, taskIds: string[] = []): Assignment {
  let tasks: TaskSpec[]
  if (taskIds.length > 0) {
    tasks = [...new Set(taskIds)].map((id) => {
      const task = job.tasks.find((t) => t.id === id)
      if (!task) throw new UsageError(`--task ${id}: job file ${job.file} has no task ${JSON.stringify(id)}; its tasks are ${job.tasks.map((t) => t.id).join(', ')}`)
      return task
    })
  } else if (job.tasks.some((t) => t.node !== undefined)) {
    tasks = job.tasks.filter((t) => t.node === node)
    if (tasks.length === 0) {
      const nodes = [...new Set(job.tasks.flatMap((t) => (t.node ? [t.node] : [])))].join(', ')
      throw new UsageError(
        `node ${node} runs no task of job file ${job.file}: no task says "node": "${node}" (the file names ${nodes}); run with --node set to one of them (or CKPT_NODE), or name tasks with --task`,
      )
    }
  } else return {cluster: false, tasks: job.tasks}
  if (job.checkpoint.format !== 2) {
    throw new UsageError(`job file ${job.file}: running tasks on several nodes needs checkpoint.format 2 (it is ${job.checkpoint.format}); set "checkpoint": {"format": 2}`)
  }
  return {cluster: true, tasks}
}
