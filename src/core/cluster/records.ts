// The records participants of a many-node job coordinate through (docs/design/many-nodes.md):
// their shapes, and reading and writing them. Every write is a put of one's own record or a
// create-if-absent; every age is a difference of store times.
import {createHash, randomUUID} from 'node:crypto'
import type {JobSpec} from '../config/job-file.js'
import {AlreadyExistsError, NotFoundError} from '../errors.js'
import {clusterKeys, serialOfKey} from '../format/keys.js'
import type {TaskRecordV2} from '../format/manifest.js'
import {getBuffer, type ObjectInfo, type PrimaryStore} from '../stores/store.js'
import {storeNow} from '../catalogue/store-time.js'

export interface ParticipantRecord {
  node: string
  host: string
  pid: number
  /** The process's start time (/proc), which tells a restarted pid from the old one. */
  processStart?: string
  /** Unique per `ckpt run` process. */
  runId: string
  tasks: string[]
  jobDigest: string
  /** The epoch this participant's tasks run in. */
  epoch: number
  failover: 'job' | 'task'
  startedAt: string
  /** This process's own clock when it wrote the record: shown, never compared. */
  writtenAt: string
  /** The newest confirmed local copy on this node, per task. */
  copies: Record<string, string>
  /** The run is stopping: not a coordinator candidate, and its tasks may be claimed at once. */
  leaving?: boolean
}

/** A participant record with its heartbeat: the store's time of its last write. */
export interface Participant extends ParticipantRecord {
  heartbeat: Date
}

export interface OwnerRecord {
  taskId: string
  generation: number
  node: string
  runId: string
}

export interface CoordinatorRecord {
  term: number
  node: string
  runId: string
}

export interface EpochRecord {
  epoch: number
  node: string
  reason: string
}

export interface TargetRecord {
  epoch: number
  /** The checkpoint every task restores in this epoch; null: none has completed, tasks go on as they are. */
  checkpointId: string | null
  /** Checkpoints that could not restore every task in earlier epochs of this recovery. */
  excluded: string[]
}

export interface RestoredRecord {
  taskId: string
  node: string
  epoch: number
  checkpointId: string | null
  source: string
  /** The node that held the local copy, when it was not this one. */
  heldBy?: string
}

export interface Announcement {
  checkpointId: string
  epoch: number
  jobDigest: string
  /** Every task of the job, in job-file order: the acknowledgements a commit needs. */
  tasks: string[]
  node: string
  term: number
  /** `ckpt checkpoint take` requests this checkpoint answers. */
  requests: string[]
  announcedAt: string
}

export interface Ack {
  checkpointId: string
  epoch: number
  taskId: string
  node: string
  runId: string
  record: TaskRecordV2
  ackedAt: string
  digest: string
  chunkSize: number
}

export interface TakeRequest {
  requestId: string
  node: string
  host: string
  pid: number
  requestedAt: string
}

export interface TakeAnswer {
  requestId: string
  checkpointId: string
}

/** The job digest: participants must run the same task list (ids and nodes) and format. */
export function jobDigest(job: Pick<JobSpec, 'tasks' | 'checkpoint'>): string {
  const canonical = JSON.stringify({format: job.checkpoint.format, tasks: job.tasks.map((t) => ({id: t.id, node: t.node ?? null}))})
  return createHash('sha256').update(canonical).digest('hex')
}

export async function readRecord<T>(primary: PrimaryStore, key: string): Promise<T | undefined> {
  try {
    return JSON.parse((await getBuffer(primary, key)).toString('utf8')) as T
  } catch (error) {
    if (error instanceof NotFoundError) return undefined
    if (error instanceof SyntaxError) return undefined // a record cut short by a crash of a file store's writer: as absent
    throw error
  }
}

/** Writes a record only if its key is free: true when this call wrote it. */
export async function createRecord(primary: PrimaryStore, key: string, value: unknown): Promise<boolean> {
  try {
    await primary.createIfAbsent(key, Buffer.from(JSON.stringify(value, null, 1)))
    return true
  } catch (error) {
    if (error instanceof AlreadyExistsError) return false
    throw error
  }
}

/** The highest numbered record (generation, term, epoch) directly under prefix. */
export async function highestSerial(primary: PrimaryStore, prefix: string): Promise<{n: number; key: string; info: ObjectInfo} | undefined> {
  let best: {n: number; key: string; info: ObjectInfo} | undefined
  for await (const info of primary.list(prefix)) {
    const rest = info.key.slice(prefix.length)
    if (rest.includes('/')) continue
    const n = serialOfKey(info.key)
    if (n !== undefined && (!best || n > best.n)) best = {n, key: info.key, info}
  }
  return best
}

export async function listParticipants(primary: PrimaryStore, job: string): Promise<Participant[]> {
  const infos: ObjectInfo[] = []
  for await (const info of primary.list(clusterKeys.participantsPrefix(job))) if (info.key.endsWith('.json')) infos.push(info)
  const found = await Promise.all(
    infos.map(async (info) => {
      const record = await readRecord<ParticipantRecord>(primary, info.key)
      return record ? {...record, heartbeat: info.lastModified} : undefined
    }),
  )
  return found.filter((p): p is Participant => p !== undefined).sort((a, b) => a.node.localeCompare(b.node))
}

/** The current epoch: the highest epoch record, 0 when there is none. */
export async function currentEpoch(primary: PrimaryStore, job: string): Promise<number> {
  return (await highestSerial(primary, clusterKeys.epochsPrefix(job)))?.n ?? 0
}

/** The acknowledgements written for a checkpoint, by task. */
export async function readAcks(primary: PrimaryStore, job: string, id: string): Promise<Map<string, {ack: Ack; info: ObjectInfo}>> {
  const infos: ObjectInfo[] = []
  for await (const info of primary.list(clusterKeys.acksPrefix(job, id as never))) infos.push(info)
  const acks = new Map<string, {ack: Ack; info: ObjectInfo}>()
  await Promise.all(
    infos.map(async (info) => {
      const ack = await readRecord<Ack>(primary, info.key)
      if (ack) acks.set(ack.taskId, {ack, info})
    }),
  )
  return acks
}

/** The store's time now: a probe object written, stat'ed and removed (a probe left behind is ignored by everything). */
export async function probeStoreTime(primary: PrimaryStore, job: string): Promise<number> {
  const key = clusterKeys.probe(job, randomUUID())
  try {
    return await storeNow(primary, key, Buffer.from('{}'))
  } finally {
    await primary.delete(key).catch(() => {})
  }
}
