// The error classes of ckpt. Each carries the exit code of docs/CONTRACT.md and a stable `code`.

export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  verify: 3,
  nothingRestored: 4,
  store: 5,
  interrupted: 130,
} as const

export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

export class CkptError extends Error {
  readonly exit: ExitCode = EXIT.failed
  readonly code: string = 'FAILED'
  constructor(message: string, options?: {cause?: unknown}) {
    super(message, options)
    this.name = new.target.name
  }
}

/** Bad usage, job file or input: exit 2. */
export class UsageError extends CkptError {
  override readonly exit = EXIT.usage
  override readonly code: string = 'USAGE'
}

/** The operation failed: exit 1. */
export class OperationError extends CkptError {}

/** Unsafe content from a store (path escape, special file): exit 1. */
export class UnsafeEntryError extends CkptError {
  override readonly code: string = 'UNSAFE_ENTRY'
}

/** Verification found a problem: exit 3. */
export class VerifyError extends CkptError {
  override readonly exit = EXIT.verify
  override readonly code: string = 'VERIFY'
}

/** No completed checkpoint could restore every task: exit 4. */
export class NothingToRestoreError extends CkptError {
  override readonly exit = EXIT.nothingRestored
  override readonly code: string = 'NOTHING_TO_RESTORE'
}

/** Why a store refused a request, as data for callers that decide on it (a lock-less read). */
export type StoreRefusal = 'read-only' | 'refused'

/** What went wrong with a store, classified once where the failure was seen (never from a message). */
export type StoreFailureKind = 'unreachable' | 'credentials' | 'read-only' | 'timeout' | 'throttled' | 'transient' | 'missing'

/** A store could not be reached or refused the credentials: exit 5. */
export class StoreUnavailableError extends CkptError {
  override readonly exit = EXIT.store
  override readonly code: string = 'STORE_UNAVAILABLE'
  /** Set when the store answered and refused: a read-only store or credentials that may not write. */
  readonly refusal?: StoreRefusal
  readonly kind?: StoreFailureKind
  constructor(message: string, options?: {cause?: unknown; refusal?: StoreRefusal; kind?: StoreFailureKind}) {
    super(message, options)
    this.refusal = options?.refusal
    this.kind = options?.kind
  }
}

/** An object is not in the store. Stores throw it; callers above decide what it means. */
export class NotFoundError extends CkptError {
  override readonly code: string = 'NOT_FOUND'
  constructor(readonly key: string, options?: {cause?: unknown}) {
    super(`object ${key} not found`, options)
  }
}

/** A create-if-absent found the object already there. */
export class AlreadyExistsError extends CkptError {
  override readonly code: string = 'ALREADY_EXISTS'
  constructor(readonly key: string, options?: {cause?: unknown}) {
    super(`object ${key} already exists`, options)
  }
}

/** A lock is held by someone else. */
export class LockedError extends CkptError {
  override readonly code: string = 'LOCKED'
}

/** The run was interrupted by SIGINT: exit 130. */
export class InterruptedError extends CkptError {
  override readonly exit = EXIT.interrupted
  override readonly code: string = 'INTERRUPTED'
}

/** A transient store failure that a retry may cure (timeouts, 5xx, throttling, resets). */
export class TransientStoreError extends StoreUnavailableError {
  override readonly code: string = 'STORE_TRANSIENT'
  /** How long the store asked to wait before the next try (its Retry-After), when it said. */
  retryAfterMs?: number
}

/** A manifest or index of a newer on-store format than this ckpt reads: exit 1, "upgrade ckpt". */
export class NewerFormatError extends CkptError {
  override readonly code: string = 'NEWER_FORMAT'
}

export function exitCodeOf(error: unknown): ExitCode {
  return error instanceof CkptError ? error.exit : EXIT.failed
}

export function errorCodeOf(error: unknown): string {
  return error instanceof CkptError ? error.code : 'FAILED'
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** `ckpt run` runs the job on this node: a second run, a take or a restore would write under its live tasks (exit 1). */
export class RunActiveError extends CkptError {
  override readonly code: string = 'RUN_ACTIVE'
}
