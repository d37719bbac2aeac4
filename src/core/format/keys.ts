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
  const match = rest ? /^(?:claims|manifests)\/(chk-\d+)\.json$|^data\/(chk-\d+)\//.exec(rest) : null
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
