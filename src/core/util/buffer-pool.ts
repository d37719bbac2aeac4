// Buffers of one size, handed out again once released: fresh memory costs a page fault per page, and
// a take of many 1 MiB files would otherwise touch a new megabyte for each one.
export class BufferPool {
  private readonly free: Buffer[] = []

  constructor(
    readonly size: number,
    private readonly keep: number,
  ) {}

  /** A buffer of `size` bytes (contents undefined). */
  get(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size)
  }

  /** Gives a buffer from get() back; nothing may use it afterwards. */
  release(buffer: Buffer): void {
    if (buffer.length === this.size && this.free.length < this.keep) this.free.push(buffer)
  }
}
