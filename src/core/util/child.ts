// Runs a child process in its own process group; one result shape for every outcome, and one
// describer of it. A snapshot command keeps the tail of its stderr; a task passes its output on.
import {spawn, type ChildProcess} from 'node:child_process'
import {createInterface} from 'node:readline'
import type {Command} from '../config/job-file.js'

export type OutputStream = 'stdout' | 'stderr'

/** How a child ended. */
export interface ChildExit {
  /** 127 when it could not be started. */
  exitCode: number | null
  signal: NodeJS.Signals | null
  timedOut: boolean
  durationMs: number
  /** The last lines of stderr; empty when stderr was passed on line by line. */
  stderrTail: string
  /** Why the command could not be started, when it could not. */
  error?: string
}

export interface ChildOptions {
  env: NodeJS.ProcessEnv
  cwd?: string
  timeoutMs?: number
  /** Run as this user (tasks[].user). */
  user?: {uid: number; gid: number}
  /** Kills the child's group when aborted (an interrupted command). */
  signal?: AbortSignal
  /** Passes stdout and stderr on line by line instead of keeping a tail of stderr. */
  onLine?: (stream: OutputStream, line: string) => void
}

export interface StartedChild {
  child: ChildProcess
  /** Settles on 'close', not 'exit': stdio may still be open after the process exits. */
  exited: Promise<ChildExit>
}

export function argvOf(command: Command): [string, string[]] {
  return typeof command === 'string' ? ['/bin/sh', ['-c', command]] : [command[0], command.slice(1)]
}

/** Kills a whole process group; a group that is gone already is fine. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    try {
      child.kill(signal)
    } catch {
      // gone
    }
  }
}

const TAIL_BYTES = 4096

/** Starts a command as the leader of a new process group. */
export function startChild(command: Command, options: ChildOptions): StartedChild {
  const started = Date.now()
  const [file, args] = argvOf(command)
  const as = options.user ? {uid: options.user.uid, gid: options.user.gid} : {}
  const stdout = options.onLine ? 'pipe' : 'ignore'
  const child = spawn(file, args, {env: options.env, cwd: options.cwd, detached: true, stdio: ['ignore', stdout, 'pipe'], ...as})
  const tail = options.onLine ? passLines(child, options.onLine) : keepTail(child)
  let timedOut = false
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => ((timedOut = true), killGroup(child, 'SIGKILL')), options.timeoutMs)
  const onAbort = () => killGroup(child, 'SIGKILL')
  options.signal?.addEventListener('abort', onAbort, {once: true})
  if (options.signal?.aborted) onAbort()
  const exited = new Promise<ChildExit>((resolve) => {
    let error: string | undefined
    // Only a spawn that failed leaves no pid; a failed kill() also emits 'error'.
    child.on('error', (e) => child.pid === undefined && (error ??= e.message))
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      // A spawn that failed closes with a negative errno for a code: say 127, as a shell does.
      const exitCode = error !== undefined && (code === null || code < 0) ? 127 : code
      resolve({exitCode, signal, timedOut, durationMs: Date.now() - started, stderrTail: tail(), ...(error !== undefined ? {error} : {})})
    })
  })
  return {child, exited}
}

/** Runs a command to its end. */
export function runChild(command: Command, options: ChildOptions): Promise<ChildExit> {
  return startChild(command, options).exited
}

function keepTail(child: ChildProcess): () => string {
  let tail = ''
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (chunk: string) => (tail = (tail + chunk).slice(-TAIL_BYTES)))
  return () => tail.trimEnd().split('\n').slice(-10).join('\n')
}

function passLines(child: ChildProcess, onLine: (stream: OutputStream, line: string) => void): () => string {
  for (const stream of ['stdout', 'stderr'] as const) {
    createInterface({input: child[stream]!, crlfDelay: Infinity}).on('line', (line) => onLine(stream, line))
  }
  return () => ''
}

/** Whether a child ended well: exit code 0, no signal, in time. */
export function succeeded(exit: ChildExit): boolean {
  return exit.exitCode === 0 && exit.signal === null && !exit.timedOut && exit.error === undefined
}

/** How a child ended, in words: "exited with code 3", "was killed by SIGKILL", then its stderr tail. */
export function describeExit(exit: ChildExit, timeoutMs?: number): string {
  const why = reasonOf(exit, timeoutMs)
  return exit.stderrTail ? `${why}; stderr: ${exit.stderrTail}` : why
}

function reasonOf(exit: ChildExit, timeoutMs?: number): string {
  if (exit.error !== undefined) return `could not start (${exit.error})`
  if (exit.timedOut) return `timed out after ${timeoutMs}ms`
  if (exit.signal) return `was killed by ${exit.signal}`
  return `exited with code ${exit.exitCode}`
}
