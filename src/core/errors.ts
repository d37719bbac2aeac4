// The error classes of ckpt, all of them. Each carries the exit code of docs/CONTRACT.md, a stable
// `code` for --json documents, and whether a restore may fall back to an older checkpoint.

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
  /** True when the failure means "this checkpoint cannot serve": a restore may try an older one. */
  readonly fallback: boolean = false
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

/** Unsafe content from a store (path escape, special file): exit 1; an older checkpoint may be safe. */
export class UnsafeEntryError extends CkptError {
  override readonly code: string = 'UNSAFE_ENTRY'
  override readonly fallback = true
}

/** A manifest or index that cannot be read or does not match its digest: exit 1. */
export class ManifestError extends OperationError {
  override readonly code: string = 'BAD_MANIFEST'
  override readonly fallback = true
}

/** A primary copy's bytes do not match the manifest's digests: exit 1. */
export class PrimaryDigestError extends OperationError {
  override readonly code: string = 'PRIMARY_DIGEST'
  override readonly fallback = true
}

/** A completed checkpoint that does not hold a task of the job (the job gained it later). */
export class CheckpointLacksTaskError extends CkptError {
  override readonly fallback = true
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

/** A transient store failure that a retry may cure (timeouts, 5xx, throttling, resets). */
export class TransientStoreError extends StoreUnavailableError {
  override readonly code: string = 'STORE_TRANSIENT'
  /** How long the store asked to wait before the next try (its Retry-After), when it said. */
  retryAfterMs?: number
}

/** An object is not in the store. Stores throw it; for a restore, its checkpoint cannot serve. */
export class NotFoundError extends CkptError {
  override readonly code: string = 'NOT_FOUND'
  override readonly fallback = true
  constructor(
    readonly key: string,
    options?: {cause?: unknown},
  ) {
    super(`object ${key} not found`, options)
  }
}

/** A create-if-absent found the object already there. */
export class AlreadyExistsError extends CkptError {
  override readonly code: string = 'ALREADY_EXISTS'
  constructor(
    readonly key: string,
    options?: {cause?: unknown},
  ) {
    super(`object ${key} already exists`, options)
  }
}

/** A lock is held by someone else: exit 1. */
export class LockedError extends CkptError {
  override readonly code: string = 'LOCKED'
}

/** The run was interrupted by SIGINT or SIGTERM: exit 130. */
export class InterruptedError extends CkptError {
  override readonly exit = EXIT.interrupted
  override readonly code: string = 'INTERRUPTED'
}

/** A manifest or index of a newer on-store format than this ckpt reads: exit 1, "upgrade ckpt". */
export class NewerFormatError extends CkptError {
  override readonly code: string = 'NEWER_FORMAT'
}

/** `ckpt run` runs the job on this node: a second run, a take or a restore would write under its live tasks (exit 1). */
export class RunActiveError extends CkptError {
  override readonly code: string = 'RUN_ACTIVE'
}

/** Many nodes: a task is run by another live participant (exit 1). */
export class TaskOwnedError extends CkptError {
  override readonly code: string = 'TASK_OWNED'
}

/** Many nodes: participants run different job files (exit 2). */
export class JobMismatchError extends UsageError {
  override readonly code: string = 'JOB_MISMATCH'
}

/**
 * A step that failed, in the words of the larger step: it keeps its cause's exit code, code and
 * fallback, so that no caller has to clone an error of another class to add words to it.
 */
export class StepFailedError extends CkptError {
  override readonly exit: ExitCode
  override readonly code: string
  override readonly fallback: boolean
  constructor(message: string, cause: unknown) {
    super(message, {cause})
    this.exit = exitCodeOf(cause)
    this.code = cause instanceof CkptError ? cause.code : 'FAILED'
    this.fallback = canFallBack(cause)
  }
}

export function exitCodeOf(error: unknown): ExitCode {
  return error instanceof CkptError ? error.exit : EXIT.failed
}

/** Whether a restore may try an older checkpoint after this failure. */
export function canFallBack(error: unknown): boolean {
  return error instanceof CkptError && error.fallback
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** `ckpt init` found its job file already there: the CLI says how to overwrite it (exit 2). */
export class JobFileExistsError extends UsageError {}

/** Several tasks of one take failed at once: a carrier, so the take reports each (never shown as such). */
export class TaskFailures extends Error {
  constructor(readonly failures: unknown[]) {
    super(failures.map(messageOf).join('; '))
  }
}
