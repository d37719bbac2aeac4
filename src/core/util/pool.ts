// The one way ckpt runs work concurrently. After the first failure no new item starts; the items
// already running are waited for, so nothing the caller started goes on after it returns (a prune's
// deletes must not outlive its lock), and then the first error is thrown.

/** Runs fn over items with at most `limit` at a time; results keep the items' order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  let failure: {error: unknown} | undefined
  const worker = async () => {
    while (next < items.length && !failure) {
      const i = next++
      try {
        results[i] = await fn(items[i], i)
      } catch (error) {
        failure ??= {error}
      }
    }
  }
  await Promise.all(Array.from({length: Math.max(1, Math.min(limit, items.length))}, worker))
  if (failure) throw failure.error
  return results
}

/** Like mapLimit, but an item's failure is its outcome: every item runs, and none rejects the whole. */
export async function settleLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  return mapLimit(items, limit, (item, i) => fn(item, i).then((value) => ({status: 'fulfilled', value}) as const, (reason: unknown) => ({status: 'rejected', reason}) as const))
}
