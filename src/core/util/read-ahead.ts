// Reads started ahead of their consumer, in its order, within a count and a byte budget: a state of
// many small files does not wait on one open/read/close at a time.
export class ReadAhead<T> {
  private readonly reads = new Map<number, Promise<T>>()
  private next = 0
  private bytes = 0

  constructor(
    private readonly order: readonly number[],
    private readonly read: (i: number) => Promise<T>,
    private readonly sizeOf: (i: number) => number,
    private readonly limits: {files: number; bytes: number},
  ) {}

  /** Item i's result (the next in order), read ahead or now. */
  async take(i: number): Promise<T> {
    this.fill()
    const data = await (this.reads.get(i) ?? this.read(i))
    if (this.reads.delete(i)) this.bytes -= this.sizeOf(i)
    this.fill()
    return data
  }

  private fill(): void {
    while (this.next < this.order.length && this.reads.size < this.limits.files && this.bytes < this.limits.bytes) {
      const i = this.order[this.next++]
      const read = this.read(i)
      read.catch(() => {}) // a failure is reported when the consumer reaches the item
      this.reads.set(i, read)
      this.bytes += this.sizeOf(i)
    }
  }
}
