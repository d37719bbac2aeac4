// Moving verified bytes: local copy → staging (hash while copying), primary → staging (ranges
// or one pass over the archive), each checked against the manifest's SHA-256.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import type {Readable} from 'node:stream'
import {createHash} from '../util/crypto.js'
import type {FileEntry} from '../checkpoint/manifest.js'
import {OperationError} from '../errors.js'
import {BufferPool} from '../util/buffer-pool.js'
import {WriteQueue} from '../util/write-queue.js'

const READ_SIZE = 1 << 20
const readBuffers = new BufferPool(READ_SIZE, 64)

export function targetPath(root: string, rel: string): string {
  return path.join(root, ...rel.split('/'))
}

/** SHA-256 of a local file, or undefined when it is missing or of another size. */
export async function hashLocalFile(file: string, size: number): Promise<string | undefined> {
  try {
    const st = await fs.lstat(file)
    if (!st.isFile() || st.size !== size) return undefined
    const hash = createHash('sha256')
    const handle = await fs.open(file, 'r')
    const buffer = readBuffers.acquire()
    try {
      for (;;) {
        const {bytesRead} = await handle.read(buffer, 0, buffer.length, null)
        if (bytesRead === 0) break
        hash.update(buffer.subarray(0, bytesRead))
      }
    } finally {
      readBuffers.release(buffer)
      await handle.close()
    }
    return hash.digest('hex')
  } catch {
    return undefined
  }
}

/** Copies a local file into place while hashing it; false (and nothing left) when it does not match. */
export async function copyVerified(source: string, target: string, entry: FileEntry, onBytes?: (bytes: number) => void): Promise<boolean> {
  let input: fs.FileHandle
  try {
    input = await fs.open(source, 'r')
  } catch {
    return false
  }
  try {
    const st = await input.stat()
    if (!st.isFile() || st.size !== entry.size) return false
    const output = await fs.open(target, 'w', 0o600)
    const hash = createHash('sha256')
    const queue = new WriteQueue(output)
    let ok = false
    try {
      let position = 0
      for (;;) {
        // A pooled buffer per read, handed back once its queued write is done.
        const buffer = readBuffers.acquire()
        const {bytesRead} = await input.read(buffer, 0, Math.min(READ_SIZE, entry.size - position + 1), position)
        if (bytesRead === 0 || position + bytesRead > entry.size) {
          readBuffers.release(buffer)
          position += bytesRead
          break
        }
        position += bytesRead
        const chunk = buffer.subarray(0, bytesRead)
        hash.update(chunk)
        await queue.push(chunk, () => readBuffers.release(buffer))
        onBytes?.(bytesRead)
      }
      await queue.drain()
      ok = position === entry.size && hash.digest('hex') === entry.sha256
      if (ok) await finishFile(output, entry)
    } finally {
      await queue.drain().catch(() => {})
      await output.close()
      if (!ok) await fs.rm(target, {force: true})
    }
    return ok
  } finally {
    await input.close()
  }
}

async function finishFile(handle: fs.FileHandle, entry: FileEntry): Promise<void> {
  await handle.chmod(entry.mode & 0o7777)
  await handle.utimes(new Date(entry.mtimeMs), new Date(entry.mtimeMs))
}

export class PrimaryDigestError extends OperationError {
  override readonly code: string = 'PRIMARY_DIGEST'
}

/** Writes `entry.size` bytes from an async byte source into target, checking the digest. */
export async function writeVerified(chunks: AsyncIterable<Buffer>, target: string, entry: FileEntry, where: string, onBytes?: (bytes: number) => void): Promise<void> {
  const output = await fs.open(target, 'w', 0o600)
  const hash = createHash('sha256')
  const queue = new WriteQueue(output)
  let written = 0
  let ok = false
  try {
    for await (const chunk of chunks) {
      hash.update(chunk)
      written += chunk.length
      await queue.push(chunk)
      onBytes?.(chunk.length)
    }
    await queue.drain()
    if (written !== entry.size || hash.digest('hex') !== entry.sha256) {
      throw new PrimaryDigestError(`${where}: ${entry.path} in the primary copy does not match its digest (${written} of ${entry.size} bytes)`)
    }
    await finishFile(output, entry)
    ok = true
  } finally {
    await queue.drain().catch(() => {})
    await output.close()
    if (!ok) await fs.rm(target, {force: true})
  }
}

/**
 * Reads an archive stream once and hands each wanted entry's bytes (found by offset) to write().
 * Entries must be sorted by offset.
 */
export async function extractByOffset(
  archive: Readable,
  wanted: FileEntry[],
  write: (entry: FileEntry, chunks: AsyncIterable<Buffer>) => Promise<void>,
  where: string,
): Promise<void> {
  const iterator = archive[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  let pending: Buffer = Buffer.alloc(0)
  let position = 0
  const pull = async (): Promise<boolean> => {
    const next = await iterator.next()
    if (next.done) return false
    pending = next.value
    return true
  }
  try {
    for (const entry of wanted) {
      const offset = entry.offset!
      while (position + pending.length <= offset) {
        position += pending.length
        pending = Buffer.alloc(0)
        if (!(await pull())) throw new PrimaryDigestError(`${where}: the primary archive ends before ${entry.path}`)
      }
      pending = pending.subarray(offset - position)
      position = offset
      let remaining = entry.size
      async function* bytes(): AsyncGenerator<Buffer> {
        while (remaining > 0) {
          if (pending.length === 0 && !(await pull())) return
          const take = pending.subarray(0, remaining)
          pending = pending.subarray(take.length)
          position += take.length
          remaining -= take.length
          yield take
        }
      }
      await write(entry, bytes())
      if (remaining > 0) throw new PrimaryDigestError(`${where}: the primary archive ends inside ${entry.path}`)
    }
  } finally {
    await iterator.return?.()
  }
}
