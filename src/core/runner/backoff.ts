// The restart budget of a run: at most maxRestarts within a sliding window, each restart
// waiting twice as long as the one before (from restartDelay, capped).
import {formatDuration} from '../config/units.js'

export interface RestartDecision {
  allowed: boolean
  /** Restarts within the window, this one included. */
  count: number
  delayMs: number
  /** Why the run must end, when a restart is not allowed. */
  reason?: string
}

export const MAX_DELAY_MS = 60_000

export class RestartBudget {
  private times: number[] = []

  constructor(
    readonly maxRestarts: number,
    readonly windowMs: number,
    readonly delayMs: number,
  ) {}

  /** Records a failure at `now` and decides whether (and after how long) it may be restarted. */
  record(now = Date.now()): RestartDecision {
    this.times = this.times.filter((t) => now - t < this.windowMs)
    this.times.push(now)
    const count = this.times.length
    if (count > this.maxRestarts) {
      const reason = `more than ${this.maxRestarts} restart${this.maxRestarts === 1 ? '' : 's'} within ${formatDuration(this.windowMs)} (run.maxRestarts ${this.maxRestarts}, run.restartWindow ${formatDuration(this.windowMs)})`
      return {allowed: false, count, delayMs: 0, reason}
    }
    const cap = Math.max(this.delayMs, MAX_DELAY_MS)
    return {allowed: true, count, delayMs: Math.min(cap, this.delayMs * 2 ** (count - 1))}
  }
}
