// Reading a take's changed files: a small one whole (util/read-ahead.ts reads them ahead), and a file's blob ids again
// for the racily-clean check.
import type {BigIntStats} from 'node:fs'
import * as fs from 'node:fs/promises'
import type {BufferPool} from '../util/buffer-pool.js'
import {digestHex, type DigestAlgorithm} from '../util/digest.js'

/** Files at least this big are read into pooled buffers; smaller ones come from Node's own slab. */
const POOLED = 64 << 10

export interface SmallRead {
  data: Buffer
  st: BigIntStats
  /** The pooled buffer under `data`, to release once nothing uses the bytes. */
  pooled?: Buffer
}

/** A small file read whole, with the fstat after the read (one byte more is asked for, to notice growth). */
export async function readSmall(file: string, size: number, pool?: BufferPool): Promise<SmallRead> {
  const handle = await fs.open(file, 'r')
  const pooled = pool && size + 1 >= POOLED && size + 1 <= pool.size ? pool.get() : undefined
  try {
    const buffer = pooled ? pooled.subarray(0, size + 1) : Buffer.allocUnsafe(size + 1)
    let filled = 0
    for (;;) {
      const {bytesRead} = await handle.read(buffer, filled, buffer.length - filled, filled)
      if (bytesRead === 0 || (filled += bytesRead) === buffer.length) break
    }
    return {data: buffer.subarray(0, filled), st: (await handle.stat({bigint: true})) as BigIntStats, pooled}
  } catch (error) {
    if (pooled) pool!.release(pooled)
    throw error
  } finally {
    await handle.close()
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
