// Writes one pending secondary copy: the caller streams file bytes in as it reads them; nothing is
// visible as a copy until finish() renames the partial folder to its final name.
import {linkSync} from 'node:fs'
import * as fs from 'node:fs/promises'
import {Readable} from 'node:stream'
import * as path from 'node:path'
import {applyFolderModes} from '../archive/tree.js'
import type {FileEntry, StateRoot} from '../format/manifest.js'
import {applyStateRoot, giveHandleOwner, giveOwner} from '../archive/owners.js'
import {removeTree} from '../util/remove-tree.js'
import {cloneFile} from '../util/sparse.js'
import {readRecord, writeRecord, type CopyRecord, type LocalCopy} from './copy-record.js'
import type {LocalLayout} from './layout.js'

/** Errors of link(2) after which a copy does as well: another file system, too many links, links not allowed. */
const LINK_FALLBACK = new Set(['EXDEV', 'EMLINK', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP'])

export class CopyWriter {
  private readonly dirs: FileEntry[] = []
  constructor(
    private readonly layout: LocalLayout,
    readonly root: string,
    readonly partialDir: string,
    readonly finalDir: string,
    readonly record: CopyRecord,
  ) {}

  pathOf(rel: string): string {
    return path.join(this.layout.stateDir(this.partialDir), ...rel.split('/'))
  }

  async add(entry: FileEntry): Promise<void> {
    const target = this.pathOf(entry.path)
    if (entry.type === 'dir') {
      await fs.mkdir(target, {recursive: true})
      this.dirs.push(entry)
    } else if (entry.type === 'symlink') {
      await fs.symlink(entry.target!, target)
      await giveOwner(target, entry)
    } else {
      this.record.files++
      this.record.bytes += entry.size
    }
  }

  async openFile(entry: FileEntry): Promise<fs.FileHandle> {
    return fs.open(this.pathOf(entry.path), 'wx', entry.mode & 0o777)
  }

  /** Writes a whole (small) file at once, with its mode and time. */
  async writeFile(entry: FileEntry, data: Buffer): Promise<void> {
    const target = this.pathOf(entry.path)
    await fs.writeFile(target, data, {flag: 'wx', mode: entry.mode & 0o777})
    await giveOwner(target, entry)
    await fs.chmod(target, entry.mode & 0o7777)
    await fs.utimes(target, new Date(entry.mtimeMs), new Date(entry.mtimeMs))
    this.record.copiedBytes = (this.record.copiedBytes ?? 0) + data.length
  }

  /** Sets the size (zero blocks at the end were left as a hole, not written), mode and time. */
  async closeFile(handle: fs.FileHandle, entry: FileEntry): Promise<void> {
    await handle.truncate(entry.size)
    await giveHandleOwner(handle, entry)
    await handle.chmod(entry.mode & 0o7777)
    await handle.utimes(new Date(entry.mtimeMs), new Date(entry.mtimeMs))
    await handle.close()
  }

  /**
   * Format 2: a file unchanged since an earlier copy becomes a hard link of that copy's file
   * (copies are never modified, and equal stamps mean equal mode, owner and time); where a link
   * cannot be made (another file system, too many links), a copy; where the earlier copy's file is
   * gone, a copy of `orCopyOf` (the file the take scanned).
   */
  async linkFile(entry: FileEntry, from: string, orCopyOf?: string): Promise<void> {
    try {
      // On this thread: a link is a metadata write of microseconds; by promise, 100,000 of them
      // wait on the thread pool several times as long (20,000 links: 0.33 s here against 0.81 s).
      linkSync(from, this.pathOf(entry.path))
      this.record.linkedFiles = (this.record.linkedFiles ?? 0) + 1
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? ''
      // The earlier copy lost this file (removed by hand, or its copy pruned meanwhile): `orCopyOf` serves.
      if (code === 'ENOENT' && orCopyOf !== undefined) return this.copyFile(entry, orCopyOf)
      if (!LINK_FALLBACK.has(code)) throw error
      await this.copyFile(entry, from)
    }
  }

  /** Format 2: a file copied whole (a reflink, or an in-kernel copy, where the file system can), with its mode, owner and time. */
  async copyFile(entry: FileEntry, from: string): Promise<void> {
    const target = this.pathOf(entry.path)
    await cloneFile(from, target)
    await giveOwner(target, entry)
    await fs.chmod(target, entry.mode & 0o7777)
    await fs.utimes(target, new Date(entry.mtimeMs), new Date(entry.mtimeMs))
    this.record.copiedBytes = (this.record.copiedBytes ?? 0) + entry.size
  }

  /** Format 2: the task index beside the state, byte for byte the primary's (a reader checks it against `sha256`), and its digest in the record. */
  async writeIndex(chunks: Iterable<Buffer>, sha256: string): Promise<void> {
    await fs.writeFile(this.layout.indexFile(this.partialDir), Readable.from(chunks))
    this.record.format = 2
    this.record.indexSha256 = sha256
    this.record.linkedFiles ??= 0
    this.record.copiedBytes ??= 0
  }

  /** Sets folder modes (deepest first, so a read-only folder does not block its children) and the state folder's, and publishes the copy as pending. */
  async finish(root?: StateRoot): Promise<LocalCopy> {
    const state = this.layout.stateDir(this.partialDir)
    await applyFolderModes(state, this.dirs)
    if (root) await applyStateRoot(state, root)
    await writeRecord(this.layout.recordFile(this.partialDir), this.record)
    await this.refuseOtherPrimary()
    await removeTree(this.finalDir)
    await fs.rename(this.partialDir, this.finalDir)
    return {...this.record, root: this.root, dir: this.finalDir, stateDir: this.layout.stateDir(this.finalDir), partial: false, mtimeMs: Date.now()}
  }

  /** Removes the unfinished copy; a failure here leaves a leftover that the next take or prune removes. */
  async abort(): Promise<void> {
    // aborting: a partial folder left behind is a leftover that local prune removes
    await removeTree(this.partialDir).catch(() => {})
  }

  /** The same checkpoint id of another primary may sit where this copy goes: it is not ours to replace. */
  private async refuseOtherPrimary(): Promise<void> {
    const theirs = await readRecord(this.layout.recordFile(this.finalDir))
    if (theirs?.primary !== undefined && this.record.primary !== undefined && theirs.primary !== this.record.primary) {
      throw new Error(`${this.finalDir} holds the copy of ${theirs.checkpointId} of another primary store (${theirs.primary}); it is left alone`)
    }
  }
}
