// Where things live in the primary store (docs/FORMAT.md). Keys are relative to the store's root.

export const FORMAT_VERSION = 1

const CHECKPOINT_ID = /^chk-([1-9]\d{0,15})$/

export function checkpointId(n: number): string {
  return `chk-${n}`
}

/** The number of a checkpoint id, or undefined when it is not one. */
export function checkpointNumber(id: string): number | undefined {
  const match = CHECKPOINT_ID.exec(id)
  return match ? Number(match[1]) : undefined
}

export const keys = {
  jobPrefix: (job: string) => `${job}/`,
  claimsPrefix: (job: string) => `${job}/claims/`,
  claim: (job: string, id: string) => `${job}/claims/${id}.json`,
  manifestsPrefix: (job: string) => `${job}/manifests/`,
  manifest: (job: string, id: string) => `${job}/manifests/${id}.json`,
  dataPrefix: (job: string, id?: string) => (id ? `${job}/data/${id}/` : `${job}/data/`),
  archive: (job: string, id: string, taskId: string) => `${job}/data/${id}/${taskId}.tar`,
  index: (job: string, id: string, taskId: string) => `${job}/data/${id}/${taskId}.index.json`,
  locksPrefix: (job: string) => `${job}/locks/`,
}

/** The checkpoint id in a claim, manifest or data key, or undefined. */
export function checkpointIdOfKey(job: string, key: string): string | undefined {
  const rest = key.startsWith(`${job}/`) ? key.slice(job.length + 1) : undefined
  const match = rest ? /^(?:claims|manifests)\/(chk-\d+)\.json$|^data\/(chk-\d+)\//.exec(rest) : null
  const id = match ? (match[1] ?? match[2]) : undefined
  return id !== undefined && checkpointNumber(id) !== undefined ? id : undefined
}

export function compareCheckpointIds(a: string, b: string): number {
  return (checkpointNumber(a) ?? 0) - (checkpointNumber(b) ?? 0)
}
