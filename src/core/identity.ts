// The job's identity in the primary store (JOB/job.json, docs/FORMAT.md): which tasks make the job.
// A second job file that claims the same `job` name with other tasks would prune and restore the
// first one's checkpoints; it is refused. Where a job file puts the tasks' state is not part of it:
// restoring a checkpoint into other folders (another node, a recovery machine) is legitimate.
import type {JobSpec} from './config/job-file.js'
import {AlreadyExistsError, NotFoundError, StoreUnavailableError, UsageError} from './errors.js'
import type {PrimaryStore} from './stores/store.js'
import {getBuffer} from './stores/store.js'
import {createHash} from './util/crypto.js'
import {keys} from './format/keys.js'

export interface JobRecord {
  format: 1
  job: string
  /** sha256 of the JSON array of the sorted task ids. */
  identity: string
  /** The task ids, sorted. */
  tasks: string[]
  createdAt: string
  /** The job file that wrote the record, and where: for the message to whoever is refused. */
  jobFile: string
  node: string
}

/** What to do with the record: check it when present; also create it when absent; or replace it (adopt). */
export type IdentityMode = 'check' | 'record' | 'adopt'

export function jobIdentity(job: JobSpec): {identity: string; tasks: string[]} {
  const tasks = job.tasks.map((t) => t.id).sort()
  return {identity: `sha256:${createHash('sha256').update(JSON.stringify(tasks)).digest('hex')}`, tasks}
}

/** Checks this job file against the store's record of the job, creating (or replacing) the record as mode says. */
export async function checkJobIdentity(primary: PrimaryStore, job: JobSpec, node: string, mode: IdentityMode): Promise<void> {
  const {identity, tasks} = jobIdentity(job)
  const key = keys.jobRecord(job.name)
  const mine: JobRecord = {format: 1, job: job.name, identity, tasks, createdAt: new Date().toISOString(), jobFile: job.file, node}
  const body = () => Buffer.from(JSON.stringify(mine, null, 1))
  if (mode === 'adopt') return primary.put(key, body())
  let recorded: JobRecord | undefined
  try {
    recorded = await readJobRecord(primary, key)
  } catch (error) {
    // A reader of a store it cannot reach finds out on its own first read, and may know what to do then (local list does).
    if (mode === 'check' && error instanceof StoreUnavailableError) return
    throw error
  }
  if (recorded === undefined && mode === 'record') {
    try {
      return await primary.createIfAbsent(key, body())
    } catch (error) {
      if (!(error instanceof AlreadyExistsError)) throw error
      recorded = await readJobRecord(primary, key)
    }
  }
  if (recorded === undefined || recorded.identity === identity) return
  const list = (t: string[]) => t.join(', ')
  throw new UsageError(
    `job ${job.name} in primary store ${primary.displayUrl} belongs to another job file: ${recorded.jobFile} on node ${recorded.node} recorded tasks ${list(recorded.tasks)}; ` +
      `${job.file} has tasks ${list(tasks)}. If this is a different job, give it another "job" name; ` +
      `if you changed the job's tasks on purpose, run 'ckpt checkpoint take --adopt' once to record this job file as the job`,
  )
}

async function readJobRecord(primary: PrimaryStore, key: string): Promise<JobRecord | undefined> {
  let text: string
  try {
    text = (await getBuffer(primary, key)).toString('utf8')
  } catch (error) {
    if (error instanceof NotFoundError) return undefined
    throw error
  }
  try {
    const record = JSON.parse(text) as JobRecord
    if (typeof record.identity !== 'string' || !Array.isArray(record.tasks)) throw new Error('no identity')
    return record
  } catch {
    throw new UsageError(`the job record ${key} in the primary store is not readable; if the store is yours, run 'ckpt checkpoint take --adopt' to write it again`)
  }
}
