// Where things live in the primary store (docs/FORMAT.md). Keys are relative to the store's root;
// no other module builds a key by hand.
import {parseCheckpointId, type CheckpointId} from './ids.js'

/** The newest format this ckpt reads; it writes format 1 or 2, as the job file says (`checkpoint.format`). */
export const FORMAT_VERSION = 2
export const FORMAT_1 = 1
export const FORMAT_2 = 2

export const keys = {
  jobPrefix: (job: string) => `${job}/`,
  /** The job's identity record (identity.ts). */
  jobRecord: (job: string) => `${job}/job.json`,
  claimsPrefix: (job: string) => `${job}/claims/`,
  claim: (job: string, id: CheckpointId) => `${job}/claims/${id}.json`,
  manifestsPrefix: (job: string) => `${job}/manifests/`,
  manifest: (job: string, id: CheckpointId) => `${job}/manifests/${id}.json`,
  dataPrefix: (job: string, id?: CheckpointId) => (id ? `${job}/data/${id}/` : `${job}/data/`),
  archive: (job: string, id: CheckpointId, taskId: string) => `${job}/data/${id}/${taskId}.tar`,
  index: (job: string, id: CheckpointId, taskId: string) => `${job}/data/${id}/${taskId}.index.json`,
  locksPrefix: (job: string) => `${job}/locks/`,
  /** A lock record: <mode>-<uuid>, unique, so removing a stale lock never removes a live one. */
  lock: (job: string, lockId: string) => `${job}/locks/${lockId}.json`,
  /** Where a prune records what it has begun to remove, so a re-run finishes it whatever its age. */
  pruning: (job: string, id: CheckpointId) => `${job}/pruning/${id}.json`,
  /** Format 2: the job's digest and chunk size, fixed by its first format-2 take. */
  jobConfig: (job: string) => `${job}/config.json`,
  /** Format 2: packs of blobs, named by their digest, under the first two hex digits of it. */
  packsPrefix: (job: string) => `${job}/packs/`,
  pack: (job: string, packId: string) => `${job}/packs/${packId.slice(0, 2)}/${packId}`,
}

/** The pack id of a pack's key, or undefined. */
export function packIdOfKey(job: string, key: string): string | undefined {
  const match = key.startsWith(`${job}/`) ? /^packs\/([0-9a-f]{2})\/([0-9a-f]{64})$/.exec(key.slice(job.length + 1)) : null
  return match && match[2].startsWith(match[1]) ? match[2] : undefined
}

/** The checkpoint id in a claim, manifest or data key, or undefined. */
export function checkpointIdOfKey(job: string, key: string): CheckpointId | undefined {
  const rest = key.startsWith(`${job}/`) ? key.slice(job.length + 1) : undefined
  const match = rest ? /^(?:claims|manifests|cluster\/aborted)\/(chk-\d+)\.json$|^data\/(chk-\d+)\//.exec(rest) : null
  const id = match ? (match[1] ?? match[2]) : undefined
  return id === undefined ? undefined : parseCheckpointId(id)
}

/** The checkpoint id of a pruning marker's key, or undefined. */
export function prunedIdOfKey(job: string, key: string): CheckpointId | undefined {
  const match = key.startsWith(`${job}/`) ? /^pruning\/(chk-\d+)\.json$/.exec(key.slice(job.length + 1)) : null
  return match ? parseCheckpointId(match[1]) : undefined
}

/** The lock id of a lock record's key (what follows the locks prefix, without `.json`). */
export function lockIdOfKey(job: string, key: string): string {
  return key.slice(keys.locksPrefix(job).length).replace(/\.json$/, '')
}

/** A generation, term or epoch in a key: 8 decimal digits, so keys sort as numbers do. */
export function serialOf(n: number): string {
  return String(n).padStart(8, '0')
}

/** Many nodes (docs/design/many-nodes.md): the records participants coordinate through. */
export const clusterKeys = {
  prefix: (job: string) => `${job}/cluster/`,
  participantsPrefix: (job: string) => `${job}/cluster/participants/`,
  participant: (job: string, node: string) => `${job}/cluster/participants/${node}.json`,
  ownersPrefix: (job: string, taskId: string) => `${job}/cluster/owners/${taskId}/`,
  owner: (job: string, taskId: string, generation: number) => `${job}/cluster/owners/${taskId}/${serialOf(generation)}.json`,
  coordinatorPrefix: (job: string) => `${job}/cluster/coordinator/`,
  coordinator: (job: string, term: number) => `${job}/cluster/coordinator/${serialOf(term)}.json`,
  epochsPrefix: (job: string) => `${job}/cluster/epochs/`,
  epoch: (job: string, epoch: number) => `${job}/cluster/epochs/${serialOf(epoch)}.json`,
  target: (job: string, epoch: number) => `${job}/cluster/epochs/${serialOf(epoch)}/target.json`,
  restoredPrefix: (job: string, epoch: number) => `${job}/cluster/epochs/${serialOf(epoch)}/restored/`,
  restored: (job: string, epoch: number, taskId: string) => `${job}/cluster/epochs/${serialOf(epoch)}/restored/${taskId}.json`,
  announcePrefix: (job: string) => `${job}/cluster/announce/`,
  announce: (job: string, id: CheckpointId) => `${job}/cluster/announce/${id}.json`,
  acksPrefix: (job: string, id: CheckpointId) => `${job}/cluster/acks/${id}/`,
  ack: (job: string, id: CheckpointId, taskId: string) => `${job}/cluster/acks/${id}/${taskId}.json`,
  requestsPrefix: (job: string) => `${job}/cluster/requests/`,
  request: (job: string, requestId: string) => `${job}/cluster/requests/${requestId}.json`,
  answer: (job: string, requestId: string) => `${job}/cluster/requests/${requestId}.answer.json`,
  /** Written after an abort record, so that listing completed checkpoints needs no read of each commit record. */
  abortedPrefix: (job: string) => `${job}/cluster/aborted/`,
  aborted: (job: string, id: CheckpointId) => `${job}/cluster/aborted/${id}.json`,
  /** An object written and removed at once, whose write time is the store's time now. */
  probe: (job: string, probeId: string) => `${job}/cluster/probes/${probeId}.json`,
}

/** The number at the end of a generation, term or epoch key (`…/00000012.json`), or undefined. */
export function serialOfKey(key: string): number | undefined {
  const match = /\/(\d{8})\.json$/.exec(key)
  return match ? Number(match[1]) : undefined
}
