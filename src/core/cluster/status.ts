// `ckpt status`: a job across nodes as the primary store sees it (docs/design/many-nodes.md):
// participants and their heartbeats, the coordinator, the last checkpoints with their
// acknowledgements, and where each task's newest local copy is. Reads only, but for one probe.
import {hostname} from 'node:os'
import type {JobSpec} from '../config/job-file.js'
import {checkpointRecords, readCommitRecord} from '../catalogue/catalogue.js'
import {ageMs} from '../catalogue/store-time.js'
import {StoreUnavailableError, messageOf} from '../errors.js'
import {compareCheckpointIds, parseCheckpointId, type CheckpointId} from '../format/ids.js'
import {clusterKeys, keys} from '../format/keys.js'
import {isAborted} from '../format/manifest.js'
import type {ObjectInfo, PrimaryStore} from '../stores/store.js'
import {isLive} from './membership.js'
import {highestSerial, listParticipants, probeStoreTime, readAcks, readRecord, type Announcement, type CoordinatorRecord, type OwnerRecord, type Participant} from './records.js'

/** How many checkpoints the status shows, newest first. */
export const STATUS_CHECKPOINTS = 10

export interface ParticipantStatus {
  node: string
  tasks: string[]
  pid: number
  host: string
  /** The store time of its last heartbeat (its record's lastModified). */
  heartbeatAt: string
  ageMs: number
  /** Its heartbeat is younger than the lease, it is not leaving, and (on this host) its process lives. */
  live: boolean
  epoch: number
  coordinator: boolean
  leaving?: true
}

export interface CheckpointStatus {
  checkpointId: CheckpointId
  /** completed: a manifest; aborted: an abort record; open: an announcement without either. */
  status: 'completed' | 'aborted' | 'open'
  epoch: number
  /** Whether participants announced it (false: a single-node take, which has no acknowledgements). */
  announced: boolean
  /** Acknowledgements of the announcement's epoch. */
  acknowledged: number
  /** Tasks in the announcement, or in the manifest. */
  of: number
  acks: Array<{taskId: string; node: string; epoch: number}>
  /** Open, and its announcement is older than checkpoint.timeout in store time: a participant still waiting for it aborts it; one that no participant waits for any more stays open, and is never restored. */
  overdue?: true
  /** Its manifest exists but cannot be read: never restored. */
  broken?: true
  problem?: string
}

export interface TaskStatus {
  taskId: string
  /** The live participant running it (its highest owner record's writer). */
  node?: string
  /** The node whose participant record names the newest local copy of it, live or not. */
  localCopyOn?: string
  localCopyCheckpoint?: CheckpointId
}

export interface JobStatus {
  job: string
  /** store: "now" is the time of a probe written to the store; newest-record: the store refused writes, so "now" is the newest record's time. */
  clock: 'store' | 'newest-record'
  /** The store time ages are measured from (absent when the store holds no record to read it from). */
  now?: string
  /** The current epoch (0 before any job-wide recovery). */
  epoch: number
  coordinator?: {node: string; term: number; heartbeatAt: string}
  participants: ParticipantStatus[]
  checkpoints: CheckpointStatus[]
  tasks: TaskStatus[]
}

export interface StatusOptions {
  /** How many checkpoints to show (default 10). */
  checkpoints?: number
}

export async function readJobStatus(primary: PrimaryStore, job: JobSpec, options: StatusOptions = {}): Promise<JobStatus> {
  const name = job.name
  const clock = await probeNow(primary, name)
  const [participants, coordinatorTop, epochTop, owners, checkpoints] = await Promise.all([
    listParticipants(primary, name),
    highestSerial(primary, clusterKeys.coordinatorPrefix(name)),
    highestSerial(primary, clusterKeys.epochsPrefix(name)),
    Promise.all(job.tasks.map((t) => highestSerial(primary, clusterKeys.ownersPrefix(name, t.id)))),
    readCheckpoints(primary, name, options.checkpoints ?? STATUS_CHECKPOINTS),
  ])
  const seen: Date[] = [...participants.map((p) => p.heartbeat), ...[coordinatorTop, epochTop, ...owners].flatMap((r) => (r ? [r.info.lastModified] : [])), ...checkpoints.times]
  const now = clock ?? newest(seen)
  // as participants decide it: on this host, a record whose process is gone is not live either
  const live = (p: Participant) => now !== undefined && isLive(p, now, job.cluster.leaseMs, {host: hostname()})
  const coordinator = coordinatorTop ? await coordinatorOf(primary, coordinatorTop.key, participants, live) : undefined
  const ownerRecords = await Promise.all(owners.map((o) => (o ? readRecord<OwnerRecord>(primary, o.key) : undefined)))
  return {
    job: name,
    clock: clock === undefined ? 'newest-record' : 'store',
    ...(now !== undefined ? {now: new Date(now).toISOString()} : {}),
    epoch: epochTop?.n ?? 0,
    ...(coordinator ? {coordinator: {node: coordinator.participant.node, term: coordinator.term, heartbeatAt: coordinator.participant.heartbeat.toISOString()}} : {}),
    participants: participants.map((p) => participantStatus(p, now, live(p), coordinator?.participant === p)),
    checkpoints: checkpoints.list.map((c) => {
      const announcement = checkpoints.announced.get(c.checkpointId)
      return c.status === 'open' && announcement && now !== undefined && ageMs(now, announcement) > job.checkpoint.timeoutMs ? {...c, overdue: true as const} : c
    }),
    tasks: job.tasks.map((t, i) => taskStatus(t.id, ownerRecords[i], participants, live)),
  }
}

/** The store's time from a probe written, read and removed; undefined when the store takes no writes. */
async function probeNow(primary: PrimaryStore, job: string): Promise<number | undefined> {
  if (!primary.properties.writable) return undefined
  try {
    return await probeStoreTime(primary, job)
  } catch (error) {
    // a refused write (read-only mount, SAS without write) leaves the records' own times; unreachable is an error
    if (error instanceof StoreUnavailableError && !error.refusal) throw error
    return undefined
  }
}

function newest(times: Date[]): number | undefined {
  return times.length === 0 ? undefined : Math.max(...times.map((t) => t.getTime()))
}

/** The writer of the highest term while its participant record (same run) is live; else none. */
async function coordinatorOf(primary: PrimaryStore, key: string, participants: Participant[], live: (p: Participant) => boolean) {
  const record = await readRecord<CoordinatorRecord>(primary, key)
  const participant = record && participants.find((p) => p.node === record.node && p.runId === record.runId && live(p))
  return participant ? {participant, term: record.term} : undefined
}

function participantStatus(p: Participant, now: number | undefined, live: boolean, coordinator: boolean): ParticipantStatus {
  return {
    node: p.node,
    tasks: p.tasks,
    pid: p.pid,
    host: p.host,
    heartbeatAt: p.heartbeat.toISOString(),
    ageMs: now === undefined ? 0 : ageMs(now, {lastModified: p.heartbeat}),
    live,
    epoch: p.epoch,
    coordinator,
    ...(p.leaving ? {leaving: true as const} : {}),
  }
}

function taskStatus(taskId: string, owner: OwnerRecord | undefined, participants: Participant[], live: (p: Participant) => boolean): TaskStatus {
  const runner = owner && participants.find((p) => p.node === owner.node && p.runId === owner.runId && live(p))
  let holder: {node: string; id: CheckpointId} | undefined
  for (const p of participants) {
    const id = parseCheckpointId(p.copies?.[taskId] ?? '')
    if (id && (!holder || compareCheckpointIds(id, holder.id) > 0)) holder = {node: p.node, id}
  }
  return {taskId, ...(runner ? {node: runner.node} : {}), ...(holder ? {localCopyOn: holder.node, localCopyCheckpoint: holder.id} : {})}
}

/** The newest checkpoints among announcements and commit records, with the times of what was read and the announcements found. */
async function readCheckpoints(primary: PrimaryStore, job: string, count: number): Promise<{list: CheckpointStatus[]; times: Date[]; announced: Map<CheckpointId, ObjectInfo>}> {
  const [announced, committed] = await Promise.all([checkpointRecords(primary, clusterKeys.announcePrefix(job)), checkpointRecords(primary, keys.manifestsPrefix(job))])
  const ids = [...new Set([...announced.keys(), ...committed.keys()])].sort(compareCheckpointIds).reverse().slice(0, count)
  const times = [...announced.values(), ...committed.values()].map((info) => info.lastModified)
  const list = await Promise.all(
    ids.map(async (id) => {
      const found = await checkpointStatus(primary, job, id, announced.has(id), committed.has(id))
      times.push(...found.ackTimes)
      return found.status
    }),
  )
  return {list, times, announced}
}

async function checkpointStatus(primary: PrimaryStore, job: string, id: CheckpointId, announced: boolean, committed: boolean): Promise<{status: CheckpointStatus; ackTimes: Date[]}> {
  const [announcement, acks, commit] = await Promise.all([
    announced ? readRecord<Announcement>(primary, clusterKeys.announce(job, id)) : undefined,
    announced ? readAcks(primary, job, id) : new Map(),
    committed ? readCommit(primary, job, id) : undefined,
  ])
  const epoch = announcement?.epoch ?? commit?.epoch ?? 0
  const ackList = [...acks.values()].map(({ack}) => ({taskId: ack.taskId, node: ack.node, epoch: ack.epoch}))
  const order = announcement?.tasks ?? []
  ackList.sort((a, b) => order.indexOf(a.taskId) - order.indexOf(b.taskId) || a.taskId.localeCompare(b.taskId))
  const status: CheckpointStatus = {
    checkpointId: id,
    status: commit === undefined ? 'open' : commit.aborted ? 'aborted' : 'completed',
    epoch,
    announced: announcement !== undefined,
    acknowledged: ackList.filter((a) => a.epoch === epoch).length,
    of: announcement?.tasks.length ?? commit?.tasks ?? 0,
    acks: ackList,
    ...(commit?.problem !== undefined ? {broken: true as const, problem: commit.problem} : {}),
  }
  return {status, ackTimes: [...acks.values()].map(({info}) => info.lastModified)}
}

/** What a commit record says: aborted or not, its epoch and task count, or why it cannot be read. */
async function readCommit(primary: PrimaryStore, job: string, id: CheckpointId): Promise<{aborted: boolean; epoch?: number; tasks?: number; problem?: string} | undefined> {
  try {
    const record = await readCommitRecord(primary, job, id)
    if (isAborted(record)) return {aborted: true, epoch: record.epoch}
    return {aborted: false, epoch: 'epoch' in record ? record.epoch : undefined, tasks: record.tasks.length}
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw error
    return {aborted: false, problem: messageOf(error)}
  }
}
