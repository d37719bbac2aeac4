// Runs a child process in its own process group; one result shape for every outcome.
import {spawn, type ChildProcess} from 'node:child_process'
import type {Command} from '../config/job-file.js'

export interface ChildResult {
  exitCode: number | null
  signal: NodeJS.Signals | null
  timedOut: boolean
  durationMs: number
  /** The last lines of stderr. */
  stderrTail: string
}

export interface ChildOptions {
  env: NodeJS.ProcessEnv
  cwd?: string
  timeoutMs?: number
  /** Run as this user (tasks[].user). */
  user?: {uid: number; gid: number}
  /** Kills the child's group when aborted (an interrupted command). */
  signal?: AbortSignal
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

export function runChild(command: Command, options: ChildOptions): Promise<ChildResult> {
  const started = Date.now()
  const [file, args] = argvOf(command)
  return new Promise((resolve) => {
    let tail = ''
    let timedOut = false
    const as = options.user ? {uid: options.user.uid, gid: options.user.gid} : {}
    const child = spawn(file, args, {env: options.env, cwd: options.cwd, detached: true, stdio: ['ignore', 'ignore', 'pipe'], ...as})
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (chunk: string) => {
      tail = (tail + chunk).slice(-TAIL_BYTES)
    })
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true
            killGroup(child, 'SIGKILL')
          }, options.timeoutMs)
    const onAbort = () => killGroup(child, 'SIGKILL')
    options.signal?.addEventListener('abort', onAbort, {once: true})
    if (options.signal?.aborted) onAbort()
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null) => {
      if (timer) clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      resolve({exitCode, signal, timedOut, durationMs: Date.now() - started, stderrTail: tail.trimEnd().split('\n').slice(-10).join('\n')})
    }
    child.on('error', (error) => {
      tail += `\n${error.message}`
      finish(127, null)
    })
    // 'close', not 'exit': stdio may still be open after the process exits.
    child.on('close', (code, signal) => finish(code, signal))
  })
}

export function describeFailure(result: ChildResult, timeoutMs?: number): string {
  const why = result.timedOut
    ? `timed out after ${timeoutMs}ms`
    : result.signal
      ? `was killed by ${result.signal}`
      : `exited with code ${result.exitCode}`
  return result.stderrTail ? `${why}; stderr: ${result.stderrTail}` : why
}
