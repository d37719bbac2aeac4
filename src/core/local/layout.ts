// Where the secondary store keeps things on this node's disk (docs/FORMAT.md), as Flink's
// LocalRecoveryDirectoryProvider: the only code that builds or reads these names.
//   ROOT/NODE/JOB/TASK/chk-N/{copy.json,state/}     a finished copy
//   ROOT/NODE/JOB/TASK/chk-N.partial-PID-RANDOM/    a copy being written (the pid tells a leftover of a dead process)
//   ROOT/.ckpt-scratch/NODE/JOB/PID-TASK-chk-N-*/   a scratch copy of `ckpt run` (paused capture)
//   TMPDIR/ckpt-snapshot-PID-TASK-chk-N-*/          a snapshot folder; `.snapshot-*` in a root from ckpt before 11
import {tmpdir} from 'node:os'
import * as path from 'node:path'
import {checkpointNumber} from '../format/ids.js'
import {randomBytes} from '../util/crypto.js'

const RECORD = 'copy.json'
const STATE = 'state'
const PARTIAL = '.partial-'
const SCRATCH = '.ckpt-scratch'
const SNAPSHOT_PREFIX = 'ckpt-snapshot-'
const OLD_SNAPSHOT_PREFIX = '.snapshot-'

/** What a name in a task's folder says: a copy of which checkpoint, and whether it is unfinished. */
export interface CopyName {
  checkpointId: string
  partial: boolean
}

/** The pid at the start of a name ("1234-..."), if any. */
export function leadingPid(name: string): number | undefined {
  const match = /^(\d+)-/.exec(name)
  return match ? Number(match[1]) : undefined
}

/** The pid in a partial copy's folder name (CHK.partial-PID-RANDOM), if any. */
export function partialPid(dir: string): number | undefined {
  const name = path.basename(dir)
  const at = name.indexOf(PARTIAL)
  return at < 0 ? undefined : leadingPid(name.slice(at + PARTIAL.length))
}

export class LocalLayout {
  constructor(
    readonly roots: readonly string[],
    readonly node: string,
    readonly job: string,
  ) {}

  /** Tasks are spread over the roots by their position in the job. */
  rootFor(taskIndex: number): string {
    return this.roots[taskIndex % this.roots.length]
  }

  jobDir(root: string): string {
    return path.join(root, this.node, this.job)
  }

  taskDir(root: string, taskId: string): string {
    return path.join(this.jobDir(root), taskId)
  }

  copyDir(root: string, taskId: string, checkpointId: string): string {
    return path.join(this.taskDir(root, taskId), checkpointId)
  }

  /** A fresh name for a copy being written by this process. */
  partialDir(root: string, taskId: string, checkpointId: string): string {
    return path.join(this.taskDir(root, taskId), `${checkpointId}${PARTIAL}${process.pid}-${randomBytes(4).toString('hex')}`)
  }

  stateDir(copyDir: string): string {
    return path.join(copyDir, STATE)
  }

  /** Format 2: the copy's task index, byte for byte the primary's. */
  indexFile(copyDir: string): string {
    return path.join(copyDir, 'index.json')
  }

  recordFile(copyDir: string): string {
    return path.join(copyDir, RECORD)
  }

  /** A name in a task's folder as a copy's, or undefined when it is not one. */
  parseCopyName(name: string): CopyName | undefined {
    const at = name.indexOf(PARTIAL)
    const checkpointId = at >= 0 ? name.slice(0, at) : name
    return checkpointNumber(checkpointId) === undefined ? undefined : {checkpointId, partial: at >= 0}
  }

  /** Scratch copies live in the task's local root, beside (not inside) this node's secondary copies. */
  scratchDir(root: string): string {
    return path.join(root, SCRATCH, this.node, this.job)
  }

  /** The mkdtemp prefix of one scratch copy, named for this process. */
  scratchPrefix(root: string, taskId: string, checkpointId: string): string {
    return path.join(this.scratchDir(root), `${process.pid}-${taskId}-${checkpointId}-`)
  }

  /** A snapshot folder's name in a local root from ckpt before 11, else false. */
  isOldSnapshot(name: string): boolean {
    return name.startsWith(OLD_SNAPSHOT_PREFIX)
  }
}

/** The mkdtemp prefix of a snapshot folder: the OS temp folder (TMPDIR), never a local root, so a full local disk cannot fail the primary copy. */
export function snapshotPrefix(taskId: string, checkpointId: string): string {
  return path.join(tmpdir(), `${SNAPSHOT_PREFIX}${process.pid}-${taskId}-${checkpointId}-`)
}

/** Snapshot folders (of any job) in the OS temp folder, by name: the pid that made each, if its name says. */
export function snapshotOf(name: string): {path: string; pid?: number} | undefined {
  if (!name.startsWith(SNAPSHOT_PREFIX)) return undefined
  return {path: path.join(tmpdir(), name), pid: leadingPid(name.slice(SNAPSHOT_PREFIX.length))}
}
