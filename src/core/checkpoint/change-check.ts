// Torn-copy guard for a take: a file is committed only if it is known to be one instant's content.
// After each read, an fstat on the open handle must show the size, times and inode the scan saw;
// a file changed so shortly before the scan that a write in the same clock tick could hide is read
// again once that tick is past, and must hash the same.
import type {Stats} from 'node:fs'
import * as fs from 'node:fs/promises'
import {setTimeout as sleep} from 'node:timers/promises'
import {createHash} from '../util/crypto.js'
import {OperationError} from '../errors.js'
import type {Stamps} from '../archive/tree.js'
import type {FileEntry} from '../format/manifest.js'

const READ_SIZE = 1 << 20

export class ChangeCheck {
  /** Files whose change time lies within a clock tick of the scan, to read again at the end. */
  private readonly recent: number[] = []

  constructor(
    private readonly taskId: string,
    private readonly entries: readonly FileEntry[],
    private readonly stamps: Stamps,
    private readonly scannedMs: number,
    private readonly pathOf: (entry: FileEntry) => string,
  ) {}

  /** Throws unless entry i, after `read` bytes were read from it, is still what the scan saw. */
  check(i: number, read: number, st: Stats): void {
    const entry = this.entries[i]
    if (read !== entry.size) throw this.changed(entry, `${entry.size} → ${read} bytes`)
    if (!this.stamps.same(i, entry.size, st)) throw this.changed(entry, 'rewritten in place: its times or inode moved')
    if (this.stamps.recent(i, this.scannedMs)) this.recent.push(i)
  }

  /** Reads the recently changed files again, once their clock tick is past: same stamps, same digest. */
  async recheck(): Promise<void> {
    if (this.recent.length === 0) return
    const settled = Math.max(...this.recent.map((i) => this.stamps.settledAt(i)))
    if (Date.now() < settled) await sleep(settled - Date.now() + 1)
    for (const i of this.recent) {
      const entry = this.entries[i]
      const {digest, size, st} = await hashFile(this.pathOf(entry))
      if (size !== entry.size || !this.stamps.same(i, entry.size, st) || digest !== entry.sha256) throw this.changed(entry, 'it was being written when it was read')
    }
    this.recent.length = 0
  }

  private changed(entry: FileEntry, how: string): OperationError {
    return new OperationError(`task ${this.taskId}: ${entry.path} changed while it was captured (${how}); pause the task or give it a snapshot command`)
  }
}

async function hashFile(file: string): Promise<{digest: string; size: number; st: Stats}> {
  const handle = await fs.open(file, 'r')
  try {
    const hash = createHash('sha256')
    const buffer = Buffer.allocUnsafe(READ_SIZE)
    let size = 0
    for (;;) {
      const {bytesRead} = await handle.read(buffer, 0, buffer.length, null)
      if (bytesRead === 0) break
      hash.update(buffer.subarray(0, bytesRead))
      size += bytesRead
    }
    return {digest: hash.digest('hex'), size, st: await handle.stat()}
  } finally {
    await handle.close()
  }
}
