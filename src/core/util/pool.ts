// The one way ckpt runs work concurrently. After the first failure no new work starts; the work
// already running is waited for, so nothing the caller started goes on after it returns (a prune's
// deletes must not outlive its lock), and then the first error is thrown.

/** Work started as it comes (a stream, not a list), at most `limit` at a time. */
export class Limiter {
  private readonly running = new Set<Promise<void>>()
  private failure: {error: unknown} | undefined

  constructor(private readonly limit: number) {}

  /** True once some work has failed: callers stop producing more. */
  get failed(): boolean {
    return this.failure !== undefined
  }

  /** Starts fn once fewer than `limit` (or the lower `room`) run; false, and fn never starts, once work has failed. */
  async start(fn: () => Promise<unknown>, room = this.limit): Promise<boolean> {
    while (this.running.size >= Math.max(1, room) && !this.failure) await Promise.race(this.running)
    if (this.failure) return false
    const run: Promise<void> = fn()
      .then(
        () => {},
        (error: unknown) => void (this.failure ??= {error}),
      )
      .finally(() => this.running.delete(run))
    this.running.add(run)
    return true
  }

  /** Waits for all work in flight, then throws the first failure, if any. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running)
    if (this.failure) throw this.failure.error
  }
}

/** Runs fn over items with at most `limit` at a time; results keep the items' order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  const limiter = new Limiter(limit)
  for (const [i, item] of items.entries()) {
    if (!(await limiter.start(async () => void (results[i] = await fn(item, i))))) break
  }
  await limiter.drain()
  return results
}
