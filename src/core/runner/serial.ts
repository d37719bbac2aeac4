// Runs the run's state-changing operations (checkpoints, recoveries) one at a time, and says
// what is running or queued so a checkpoint tick can skip instead of piling up.

export class Serial {
  private tail: Promise<unknown> = Promise.resolve()
  private readonly labels: string[] = []

  /** What runs now (or waits), e.g. "a checkpoint"; undefined when idle. */
  get busy(): string | undefined {
    return this.labels[0]
  }

  run<T>(label: string, fn: () => Promise<T>): Promise<T> {
    this.labels.push(label)
    const result = this.tail.then(fn).finally(() => this.labels.splice(this.labels.indexOf(label), 1))
    // the chain only orders the work; each caller gets its own result and error from `result`
    this.tail = result.catch(() => {})
    return result
  }

  /** Settles when everything queued so far has finished. */
  async idle(): Promise<void> {
    await this.tail
  }
}
