import type {FileHandle} from 'node:fs/promises'

/** Writes the whole buffer: a write(2) may write less than asked (a full disk, a signal). */
export async function writeAll(handle: FileHandle, buffer: Buffer): Promise<void> {
  let offset = 0
  while (offset < buffer.length) {
    const {bytesWritten} = await handle.write(buffer, offset, buffer.length - offset)
    if (bytesWritten === 0) throw Object.assign(new Error('write returned 0 bytes'), {code: 'EIO'})
    offset += bytesWritten
  }
}
