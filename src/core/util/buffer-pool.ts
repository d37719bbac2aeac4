// Reused read buffers. A fresh 1 MiB buffer per read costs page faults and garbage collection on
// every byte (measured: about half the system time of a local restore); a few reused ones do not.

export class BufferPool {
  private readonly free: Buffer[] = []

  constructor(readonly size: number, private readonly keep: number) {}

  acquire(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size)
  }

  release(buffer: Buffer): void {
    if (this.free.length < this.keep && buffer.length === this.size) this.free.push(buffer)
  }
}
