// One task's command running as a child in its own process group, its output passed on line by
// line. Pausing, stopping and killing always address the whole group.
import type {ChildProcess} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'
import type {Command} from '../config/job-file.js'
import {OperationError} from '../errors.js'
import {killGroup, startChild, type ChildExit, type OutputStream} from '../util/child.js'
import {stopDescendants} from './process-tree.js'

export interface TaskProcessInput {
  taskId: string
  command: Command
  cwd: string
  env: NodeJS.ProcessEnv
  onLine: (stream: OutputStream, line: string) => void
  /** Run as this user (tasks[].user). */
  user?: {uid: number; gid: number}
}

/** Strays of an exited main process get this long to close its output before the group is killed. */
const STRAY_GRACE_MS = 1000

export class TaskProcess {
  readonly taskId: string
  readonly pid: number | undefined
  readonly exited: Promise<ChildExit>
  private readonly child: ChildProcess
  private closed = false
  private stopping = false
  private pausing: Promise<void> = Promise.resolve()

  constructor(input: TaskProcessInput) {
    this.taskId = input.taskId
    const {child, exited} = startChild(input.command, {cwd: input.cwd, env: input.env, user: input.user, onLine: input.onLine})
    this.child = child
    this.pid = child.pid
    this.exited = exited
    child.on('exit', () => setTimeout(() => this.closed || killGroup(child, 'SIGKILL'), STRAY_GRACE_MS).unref())
    // Registered after startChild's own: both run before anyone awaiting `exited` goes on.
    child.on('close', () => {
      this.closed = true
      killGroup(child, 'SIGKILL') // whatever the task left behind in its group
    })
  }

  get running(): boolean {
    return !this.closed
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.closed) killGroup(this.child, signal)
  }

  /** Stops the group with SIGSTOP, and descendants that left it, and waits until they are stopped; resume() undoes it. */
  async pause(): Promise<void> {
    if (this.stopping) throw new OperationError(`task ${this.taskId} is stopping; it is not paused for a capture`)
    let release!: () => void
    const previous = this.pausing
    this.pausing = new Promise((resolve) => (release = resolve))
    await previous
    this.releasePause = release
    this.signal('SIGSTOP')
    await waitStopped(this.pid)
    // Each stray is guarded before it is stopped, so a run killed now does not leave it stopped for ever.
    const stop = (pid: number, sig: NodeJS.Signals) => {
      this.strayGuard?.(pid, true)
      signalPid(pid, sig)
    }
    if (this.pid !== undefined && !this.closed) this.strays = stopDescendants(this.pid, stop)
    for (const pid of this.strays) await waitStopped(pid)
  }

  /** Descendants outside the group that pause() stopped. */
  private strays: number[] = []

  /** Told of each stray before it is stopped (true) and after it runs again (false): the run's watchdog. */
  strayGuard?: (pid: number, stopped: boolean) => void

  private continueStrays(): void {
    for (const pid of this.strays) {
      signalPid(pid, 'SIGCONT')
      this.strayGuard?.(pid, false)
    }
    this.strays = []
  }

  resume(): void {
    this.signal('SIGCONT')
    this.continueStrays()
    this.releasePause?.()
    this.releasePause = undefined
  }

  private releasePause?: () => void

  /** `signal` (SIGTERM) to the group once any capture in progress has resumed it, SIGKILL after timeoutMs. */
  async stop(timeoutMs: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<ChildExit> {
    this.stopping = true
    await this.pausing
    this.signal(signal)
    this.signal('SIGCONT') // a stopped process acts on the signal only once it runs again
    const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs)
    try {
      return await this.exited
    } finally {
      clearTimeout(timer)
    }
  }

  kill(): void {
    this.stopping = true
    this.signal('SIGCONT')
    this.continueStrays()
    this.signal('SIGKILL')
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal)
  } catch {
    // gone
  }
}

/** Linux reports a stopped process as 'T' in /proc; elsewhere SIGSTOP is trusted to have landed. */
async function waitStopped(pid: number | undefined, limitMs = 200): Promise<void> {
  if (pid === undefined) return
  const deadline = Date.now() + limitMs
  while (Date.now() < deadline) {
    let stat: string
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    } catch {
      // the process is gone: nothing left to wait for
      return
    }
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    if (state === 'T' || state === 't' || state === 'Z' || state === 'X') return
    await sleep(1)
  }
}
