import type {FileHandle} from 'node:fs/promises'

/** Writes the whole buffer (at `position`, else at the file's offset): a write(2) may write less than asked (a full disk, a signal). */
export async function writeAll(handle: FileHandle, buffer: Buffer, position?: number): Promise<void> {
  let offset = 0
  while (offset < buffer.length) {
    const at = position === undefined ? null : position + offset
    const {bytesWritten} = await handle.write(buffer, offset, buffer.length - offset, at)
    if (bytesWritten === 0) throw Object.assign(new Error('write returned 0 bytes'), {code: 'EIO'})
    offset += bytesWritten
  }
}
