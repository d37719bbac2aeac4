// Checkpoint ids (docs/FORMAT.md): `chk-N`, N from 1 up, numbered in the order they were claimed.

/** A checkpoint id known to be of the form chk-N: made only by parseCheckpointId or formatCheckpointId. */
export type CheckpointId = string & {readonly __brand: 'CheckpointId'}

const CHECKPOINT_ID = /^chk-([1-9]\d{0,15})$/

/** The id of checkpoint number n. */
export function formatCheckpointId(n: number): CheckpointId {
  return `chk-${n}` as CheckpointId
}

/** The id in `text`, or undefined when it is not of the form chk-N. */
export function parseCheckpointId(text: string): CheckpointId | undefined {
  return CHECKPOINT_ID.test(text) ? (text as CheckpointId) : undefined
}

/** The number of a checkpoint id, or undefined when it is not one. */
export function checkpointNumber(id: string): number | undefined {
  const match = CHECKPOINT_ID.exec(id)
  return match ? Number(match[1]) : undefined
}

/** Oldest first. */
export function compareCheckpointIds(a: string, b: string): number {
  return (checkpointNumber(a) ?? 0) - (checkpointNumber(b) ?? 0)
}
