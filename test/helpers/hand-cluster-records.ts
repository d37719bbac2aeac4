// Many-node records written by hand (docs/design/many-nodes.md), for tests of what reads them
// (`ckpt status`) without running participants.
import {jobDigest, createRecord, type Ack, type Announcement, type CoordinatorRecord, type OwnerRecord, type ParticipantRecord} from '../../src/core/cluster/records.js'
import type {JobSpec} from '../../src/core/config/job-file.js'
import type {CheckpointId} from '../../src/core/format/ids.js'
import {clusterKeys, keys} from '../../src/core/format/keys.js'
import type {AbortRecord} from '../../src/core/format/manifest.js'
import type {PrimaryStore} from '../../src/core/stores/store.js'

export class ClusterRecords {
  constructor(
    readonly primary: PrimaryStore,
    readonly job: JobSpec,
  ) {}

  private get name(): string {
    return this.job.name
  }

  /** A participant's heartbeat (a put, as participants write it). */
  async participant(node: string, fields: Partial<ParticipantRecord> = {}): Promise<void> {
    const record: ParticipantRecord = {
      node,
      host: 'another-host', // a host whose processes this one cannot see
      pid: 4000 + node.charCodeAt(0),
      runId: `run-${node}`,
      tasks: [],
      jobDigest: jobDigest(this.job),
      epoch: 0,
      failover: 'task',
      startedAt: new Date().toISOString(),
      writtenAt: new Date().toISOString(),
      copies: {},
      ...fields,
    }
    await this.primary.put(clusterKeys.participant(this.name, node), Buffer.from(JSON.stringify(record)))
  }

  async owner(taskId: string, generation: number, node: string, runId = `run-${node}`): Promise<void> {
    const record: OwnerRecord = {taskId, generation, node, runId}
    await this.created(clusterKeys.owner(this.name, taskId, generation), record)
  }

  async coordinator(term: number, node: string, runId = `run-${node}`): Promise<void> {
    const record: CoordinatorRecord = {term, node, runId}
    await this.created(clusterKeys.coordinator(this.name, term), record)
  }

  async epoch(epoch: number, node: string): Promise<void> {
    await this.created(clusterKeys.epoch(this.name, epoch), {epoch, node, reason: 'a test'})
  }

  async announce(id: string, epoch: number, node = 'a'): Promise<void> {
    const record: Announcement = {checkpointId: id, epoch, jobDigest: jobDigest(this.job), tasks: this.job.tasks.map((t) => t.id), node, term: 1, requests: [], announcedAt: new Date().toISOString()}
    await this.created(clusterKeys.announce(this.name, id as CheckpointId), record)
  }

  /** An acknowledgement; its task record is left out (status reads only who acknowledged, and when). */
  async ack(id: string, taskId: string, node: string, epoch: number): Promise<void> {
    const record: Partial<Ack> = {checkpointId: id, epoch, taskId, node, runId: `run-${node}`, ackedAt: new Date().toISOString()}
    await this.created(clusterKeys.ack(this.name, id as CheckpointId, taskId), record)
  }

  /** The abort record at the checkpoint's commit key. */
  async abort(id: string, epoch: number): Promise<void> {
    const record: AbortRecord = {format: 2, job: this.name, checkpointId: id as CheckpointId, status: 'aborted', epoch, reason: 'a test aborted it', abortedAt: new Date().toISOString(), node: 'a'}
    await this.created(keys.manifest(this.name, id as CheckpointId), record)
  }

  private async created(key: string, value: unknown): Promise<void> {
    if (!(await createRecord(this.primary, key, value))) throw new Error(`${key} was already there`)
  }
}
