// Reading a take's changed files: small ones whole and a few ahead, and a file's blob ids again
// for the racily-clean check.
import type {BigIntStats} from 'node:fs'
import * as fs from 'node:fs/promises'
import {digestHex, type DigestAlgorithm} from '../util/digest.js'

const READ_AHEAD_FILES = 32
const READ_AHEAD_BYTES = 32 << 20

/** A small file read whole, with the fstat after the read (one byte more is asked for, to notice growth). */
export async function readSmall(file: string, size: number): Promise<{data: Buffer; st: BigIntStats}> {
  const handle = await fs.open(file, 'r')
  try {
    const buffer = Buffer.allocUnsafe(size + 1)
    let filled = 0
    for (;;) {
      const {bytesRead} = await handle.read(buffer, filled, buffer.length - filled, filled)
      if (bytesRead === 0 || (filled += bytesRead) === buffer.length) break
    }
    return {data: buffer.subarray(0, filled), st: (await handle.stat({bigint: true})) as BigIntStats}
  } finally {
    await handle.close()
  }
}

/** Reads of the next small files, started ahead within READ_AHEAD_FILES and READ_AHEAD_BYTES. */
export class ReadAhead<T> {
  private readonly reads = new Map<number, Promise<T>>()
  private next = 0
  private bytes = 0

  constructor(
    private readonly order: readonly number[],
    private readonly read: (i: number) => Promise<T>,
    private readonly sizeOf: (i: number) => number,
  ) {}

  async take(i: number): Promise<T> {
    this.fill()
    const data = await (this.reads.get(i) ?? this.read(i))
    if (this.reads.delete(i)) this.bytes -= this.sizeOf(i)
    this.fill()
    return data
  }

  private fill(): void {
    while (this.next < this.order.length && this.reads.size < READ_AHEAD_FILES && this.bytes < READ_AHEAD_BYTES) {
      const i = this.order[this.next++]
      const read = this.read(i)
      read.catch(() => {}) // a failure is reported when the take reaches the file
      this.reads.set(i, read)
      this.bytes += this.sizeOf(i)
    }
  }
}

/** The blob ids of a file as it is now, read chunk by chunk. */
export async function blobIdsOf(file: string, chunkSize: number, digest: DigestAlgorithm): Promise<string[]> {
  const handle = await fs.open(file, 'r')
  try {
    const buffer = Buffer.allocUnsafe(chunkSize)
    const ids: string[] = []
    for (let at = 0; ;) {
      const {bytesRead} = await handle.read(buffer, 0, chunkSize, at)
      if (bytesRead === 0) return ids
      ids.push(digestHex(buffer.subarray(0, bytesRead), digest))
      at += bytesRead
    }
  } finally {
    await handle.close()
  }
}
