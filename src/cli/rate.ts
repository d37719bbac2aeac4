// The current transfer rate: bytes over a moving window of the last few seconds, not the average
// since the start (a stall shows at once, and so does a recovery).
export class RateWindow {
  private readonly samples: Array<{at: number; bytes: number}> = []

  constructor(private readonly windowMs: number) {}

  add(at: number, bytes: number): void {
    const last = this.samples.at(-1)
    if (last && at - last.at < 100)
      last.bytes = bytes // one sample per 100 ms is enough
    else this.samples.push({at, bytes})
    // Keep one sample older than the window, so the window is always spanned.
    while (this.samples.length > 2 && this.samples[1].at <= at - this.windowMs) this.samples.shift()
  }

  /** Bytes per second over the window; 0 until two samples span some time. */
  perSecond(at = this.samples.at(-1)?.at ?? 0): number {
    if (this.samples.length < 2) return 0
    const first = this.samples[0]
    const last = this.samples.at(-1)!
    const span = Math.max(at, last.at) - first.at
    return span > 0 ? ((last.bytes - first.bytes) * 1000) / span : 0
  }
}
