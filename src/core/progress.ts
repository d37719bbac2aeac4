// Progress events of takes, restores and verifies. A phase starts with its totals known (from the
// scan or the index), so what is done never overtakes a total that grows; the core reports here
// and never draws: src/cli/progress.ts renders the events for a terminal, a log or a script.
/** reading: from the primary; uploading: to a remote primary; writing: to a folder primary; verifying: hashing local copies or stored bytes. */
export type ProgressPhase = 'reading' | 'uploading' | 'verifying' | 'writing'

export interface ProgressCounts {
  bytes: number
  files: number
}

export interface ProgressEvent {
  /** A task id (take, restore) or CHECKPOINT/TASK (verify). */
  taskId: string
  phase: ProgressPhase
  done: ProgressCounts
  total: ProgressCounts
  /** True on the phase's last event. */
  finished: boolean
}

/** Receives every change; it must be cheap (it is called per chunk) and must not throw. */
export type ProgressListener = (event: ProgressEvent) => void

/** One task's phase: counts what is done against totals fixed when it starts. */
export class PhaseProgress {
  private readonly done: ProgressCounts = {bytes: 0, files: 0}
  private ended = false

  constructor(
    private readonly listener: ProgressListener | undefined,
    readonly taskId: string,
    readonly phase: ProgressPhase,
    private readonly total: ProgressCounts,
  ) {
    this.emit(false)
  }

  /** Bytes done; a file counts once `files` is given (its last bytes). */
  advance(bytes: number, files = 0): void {
    this.done.bytes = Math.min(this.total.bytes, this.done.bytes + bytes)
    this.done.files = Math.min(this.total.files, this.done.files + files)
    this.emit(false)
  }

  end(): void {
    if (this.ended) return
    this.ended = true
    this.emit(true)
  }

  private emit(finished: boolean): void {
    this.listener?.({taskId: this.taskId, phase: this.phase, done: {...this.done}, total: {...this.total}, finished})
  }
}

/** Starts a phase, or nothing when no one listens. */
export function startPhase(listener: ProgressListener | undefined, taskId: string, phase: ProgressPhase, total: ProgressCounts): PhaseProgress | undefined {
  return listener ? new PhaseProgress(listener, taskId, phase, total) : undefined
}

/** The phase of writing a primary copy: the word "uploading" only for a remote primary. */
export function primaryWritePhase(primaryUrl: string): ProgressPhase {
  // A plain path or file:// is a folder (settings.ts resolves the URL); any other scheme is remote.
  return /^[a-z][a-z0-9+.-]*:/i.test(primaryUrl) && !/^file:/i.test(primaryUrl) ? 'uploading' : 'writing'
}

/**
 * The progress of a primary copy, counted as the store takes the archive (not as the state is
 * read, which runs ahead by the upload's buffers): marks say where in the archive each file's
 * bytes end, and the store's sent count releases them.
 */
export class ArchiveProgress {
  private readonly marks: Array<{end: number; bytes: number; files: number}> = []
  private sentBytes = 0

  constructor(private readonly phase: PhaseProgress) {}

  /** The archive up to `archiveEnd` holds `bytes` more bytes of state and `files` more whole files. */
  mark(archiveEnd: number, bytes: number, files = 0): void {
    this.marks.push({end: archiveEnd, bytes, files})
    this.release()
  }

  /** The store has taken the archive's first `bytes` (a retried write starts again: never back). */
  sent(bytes: number): void {
    this.sentBytes = Math.max(this.sentBytes, bytes)
    this.release()
  }

  end(): void {
    this.sentBytes = Infinity
    this.release()
    this.phase.end()
  }

  private release(): void {
    let bytes = 0
    let files = 0
    while (this.marks.length > 0 && this.marks[0].end <= this.sentBytes) {
      const mark = this.marks.shift()!
      bytes += mark.bytes
      files += mark.files
    }
    if (bytes > 0 || files > 0) this.phase.advance(bytes, files)
  }
}

/** Starts the phase of writing a task's primary copy, or nothing when no one listens. */
export function startArchivePhase(listener: ProgressListener | undefined, taskId: string, primaryUrl: string, total: ProgressCounts): ArchiveProgress | undefined {
  const phase = startPhase(listener, taskId, primaryWritePhase(primaryUrl), total)
  return phase && new ArchiveProgress(phase)
}
