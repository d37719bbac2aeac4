// Writes chunks to a file in order while the caller goes on reading and hashing: up to
// `maxPending` chunks may wait, so disk writes overlap with reads, hashing and network transfers.
import type {FileHandle} from 'node:fs/promises'
import {writeAll} from './write-all.js'

export class WriteQueue {
  private tail: Promise<void> = Promise.resolve()
  private pending = 0
  private error: unknown
  private waiter: (() => void) | undefined

  constructor(private readonly handle: FileHandle, private readonly maxPending = 8) {}

  /**
   * Queues a chunk; resolves when there is room for the next one. Rejects once a write has failed.
   * `done` runs once the chunk is written (or dropped after a failure), to hand its buffer back.
   * With `position` the chunk is written there, else at the file's offset.
   */
  async push(chunk: Buffer, done?: () => void, position?: number): Promise<void> {
    if (this.error) throw this.error
    this.pending++
    this.tail = this.tail.then(async () => {
      try {
        if (!this.error) await writeAll(this.handle, chunk, position)
      } catch (error) {
        this.error ??= error
      } finally {
        done?.()
        this.pending--
        this.waiter?.()
      }
    })
    while (this.pending >= this.maxPending && !this.error) await new Promise<void>((resolve) => (this.waiter = resolve))
    if (this.error) throw this.error
  }

  /** Waits for every queued write; rejects with the first write error. */
  async drain(): Promise<void> {
    await this.tail
    if (this.error) throw this.error
  }
}
