// Writes a plain tar to a sink, entry by entry: small pieces (headers, padding, small files) are
// gathered up to FLUSH_AT bytes and handed on together; a stream sink waits whenever the stream asks
// to (a pipe to another program), so memory holds no more than what is being written.
import {once} from 'node:events'
import type {Writable} from 'node:stream'
import type {EntryV2} from '../format/index2.js'
import {padding, TAR_END, tarHeader} from './tar.js'

/** Where the tar's bytes go: a function that has written them when it resolves. */
export type TarSink = (data: Buffer) => Promise<void>

const FLUSH_AT = 256 << 10

/** A sink over a stream (stdout), waiting for 'drain' when the stream's buffer is full; the stream may queue what it is given, so it gets a copy. */
export function streamSink(out: Writable): TarSink {
  return async (data) => {
    if (!out.write(Buffer.from(data))) await once(out, 'drain')
  }
}

export class TarWriter {
  /** Bytes written so far. */
  bytes = 0
  private parts: Buffer[] = []
  private held = 0

  constructor(private readonly sink: TarSink) {}

  /** Writes `data`, holding none of it once this resolves (a pack reader reuses its buffers). */
  async write(data: Buffer): Promise<void> {
    if (data.length === 0) return
    this.bytes += data.length
    if (data.length >= FLUSH_AT) {
      await this.flush()
      return this.sink(data)
    }
    this.parts.push(Buffer.from(data))
    this.held += data.length
    if (this.held >= FLUSH_AT) await this.flush()
  }

  async flush(): Promise<void> {
    if (this.held === 0) return
    const data = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts)
    this.parts = []
    this.held = 0
    await this.sink(data)
  }

  /** The header of an entry; a file's bytes follow through write(), then close(). */
  async header(entry: EntryV2): Promise<void> {
    await this.write(tarHeader({...entry, size: entry.type === 'file' ? entry.size : 0}))
  }

  /** Pads a file's bytes to the tar block. */
  async close(entry: EntryV2): Promise<void> {
    if (entry.type === 'file') await this.write(Buffer.alloc(padding(entry.size)))
  }

  /** The two zero blocks that end an archive, and everything still held. */
  async end(): Promise<void> {
    await this.write(TAR_END)
    await this.flush()
  }
}
