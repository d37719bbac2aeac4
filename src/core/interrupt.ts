// What an interrupted command undoes before it exits 130 (SIGINT/SIGTERM; the CLI installs the
// handlers): operations register a cleanup for each thing they make (a lock, a temporary object,
// a partial copy, a staging folder), long loops may watch interruptSignal, and a step that must
// not be cut in half (the renames of a restore swap) runs as uninterruptible.
import {setTimeout as sleep} from 'node:timers/promises'
import {InterruptedError, messageOf} from './errors.js'

type Cleanup = () => unknown

const cleanups: Cleanup[] = []
const running = new Set<Promise<unknown>>()
const controller = new AbortController()

/** Aborted on the first SIGINT/SIGTERM of a command. */
export const interruptSignal: AbortSignal = controller.signal

/** Registers what to undo if the process is interrupted; call the returned function once it is undone anyway. */
export function onInterrupt(cleanup: Cleanup): () => void {
  cleanups.push(cleanup)
  return () => {
    const at = cleanups.indexOf(cleanup)
    if (at >= 0) cleanups.splice(at, 1)
  }
}

/**
 * Runs fn to its end even when an interruption arrives meanwhile: the cleanups wait for it. After
 * an interruption it does not start: the cleanups may be removing what fn would use.
 */
export async function uninterruptible<T>(fn: () => Promise<T>): Promise<T> {
  if (interruptSignal.aborted) throw new InterruptedError(`interrupted by ${String(interruptSignal.reason)}`)
  const work = fn()
  const settled = work.then(
    () => {},
    () => {},
  )
  running.add(settled)
  try {
    return await work
  } finally {
    running.delete(settled)
  }
}

/**
 * Aborts interruptSignal, waits for uninterruptible steps, then runs the cleanups newest first
 * (so a lock, taken first, goes last), each failure reported and none stopping the rest.
 */
export async function interrupt(reason: string, options: {timeoutMs?: number; onWarning?: (message: string) => void} = {}): Promise<void> {
  controller.abort(reason)
  const work = (async () => {
    while (running.size > 0) await Promise.all(running)
    while (cleanups.length > 0) {
      const cleanup = cleanups.pop()!
      try {
        await cleanup()
      } catch (error) {
        options.onWarning?.(`cleanup after the interruption failed: ${messageOf(error)}`)
      }
    }
  })()
  const timeoutMs = options.timeoutMs ?? 15_000
  const timedOut = Symbol('timeout')
  const outcome = await Promise.race([work, sleep(timeoutMs, timedOut, {ref: false})])
  if (outcome === timedOut) options.onWarning?.(`cleanup after the interruption took longer than ${timeoutMs / 1000}s; some temporary files may be left (a later prune removes them)`)
}
