// The secondary (task-local) store: copies of task state kept on this node's disk, ready to
// restore without unpacking. Layout: ROOT/NODE/JOB/TASK/CHECKPOINT/{copy.json,state/} (docs/FORMAT.md).
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {randomBytes} from '../util/crypto.js'
import {applyFolderModes} from '../archive/tree.js'
import {checkpointNumber, FORMAT_VERSION} from '../checkpoint/layout.js'
import type {FileEntry, StateRoot} from '../checkpoint/manifest.js'
import {applyStateRoot, giveHandleOwner, giveOwner} from '../archive/owners.js'
import {removeTree} from '../util/remove-tree.js'
import {readdirOrEmpty, treeBytes} from '../util/tree-bytes.js'

export type CopyStatus = 'pending' | 'confirmed'

export interface CopyRecord {
  format: number
  job: string
  taskId: string
  checkpointId: string
  node: string
  status: CopyStatus
  files: number
  bytes: number
  createdAt: string
  confirmedAt?: string
  /** The primary store the copy belongs to (its displayUrl); copies of another primary are left alone. Absent in old copies. */
  primary?: string
}

export interface LocalCopy extends CopyRecord {
  root: string
  /** The copy's folder. */
  dir: string
  /** The task's state inside it. */
  stateDir: string
  /** True for a copy whose writing never finished (a leftover). */
  partial: boolean
  /** Modification time of the copy's folder, for grace periods. */
  mtimeMs: number
}

const RECORD = 'copy.json'
const PARTIAL = '.partial-'

export class SecondaryStore {
  /** `primary` (the primary store's displayUrl) keeps copies of different primaries apart. */
  constructor(readonly roots: string[], readonly node: string, readonly job: string, readonly primary?: string) {}

  /** A copy recorded for another primary is not this store's: never listed, pruned or restored from. */
  private ours(copy: LocalCopy): boolean {
    return copy.primary === undefined || this.primary === undefined || copy.primary === this.primary
  }

  /** Tasks are spread over the roots by their position in the job. */
  rootFor(taskIndex: number): string {
    return this.roots[taskIndex % this.roots.length]
  }

  taskDir(root: string, taskId: string): string {
    return path.join(root, this.node, this.job, taskId)
  }

  /** Starts writing a copy; nothing is visible as a copy until finish(). */
  async begin(root: string, taskId: string, checkpointId: string): Promise<CopyWriter> {
    const taskDir = this.taskDir(root, taskId)
    const partial = path.join(taskDir, `${checkpointId}${PARTIAL}${process.pid}-${randomBytes(4).toString('hex')}`) // the pid tells a leftover of a dead process
    await fs.mkdir(path.join(partial, 'state'), {recursive: true})
    const record: CopyRecord = {format: FORMAT_VERSION, job: this.job, taskId, checkpointId, node: this.node, status: 'pending', files: 0, bytes: 0, createdAt: new Date().toISOString(), ...(this.primary === undefined ? {} : {primary: this.primary})}
    return new CopyWriter(root, partial, path.join(taskDir, checkpointId), record)
  }

  /** Every copy of this node and job in every root, partial leftovers included. */
  async list(): Promise<LocalCopy[]> {
    const copies: LocalCopy[] = []
    for (const root of this.roots) {
      const jobDir = path.join(root, this.node, this.job)
      for (const taskId of await readdirOrEmpty(jobDir)) {
        const taskDir = path.join(jobDir, taskId)
        for (const name of await readdirOrEmpty(taskDir)) {
          const copy = await readCopy(root, path.join(taskDir, name), taskId, name, this)
          if (copy && this.ours(copy)) copies.push(copy)
        }
      }
    }
    return copies.sort((a, b) => a.taskId.localeCompare(b.taskId) || (checkpointNumber(a.checkpointId) ?? 0) - (checkpointNumber(b.checkpointId) ?? 0))
  }

  /** The finished copy of a task for a checkpoint, in any root. */
  async find(taskId: string, checkpointId: string): Promise<LocalCopy | undefined> {
    for (const root of this.roots) {
      const dir = path.join(this.taskDir(root, taskId), checkpointId)
      const copy = await readCopy(root, dir, taskId, checkpointId, this)
      if (copy && !copy.partial && this.ours(copy)) return copy
    }
    return undefined
  }

  async confirm(copy: LocalCopy): Promise<void> {
    const record: CopyRecord = {...recordOf(copy), status: 'confirmed', confirmedAt: new Date().toISOString()}
    await writeRecord(copy.dir, record)
    copy.status = 'confirmed'
    copy.confirmedAt = record.confirmedAt
  }

  async remove(copy: LocalCopy): Promise<void> {
    await removeTree(copy.dir)
  }
}

/** Writes one copy's files; the caller streams file bytes in as it reads them. */
export class CopyWriter {
  private readonly dirs: FileEntry[] = []
  constructor(readonly root: string, readonly partialDir: string, readonly finalDir: string, readonly record: CopyRecord) {}

  pathOf(rel: string): string {
    return path.join(this.partialDir, 'state', ...rel.split('/'))
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
  }

  /** Sets the size (zero blocks at the end were left as a hole, not written), mode and time. */
  async closeFile(handle: fs.FileHandle, entry: FileEntry): Promise<void> {
    await handle.truncate(entry.size)
    await giveHandleOwner(handle, entry)
    await handle.chmod(entry.mode & 0o7777)
    await handle.utimes(new Date(entry.mtimeMs), new Date(entry.mtimeMs))
    await handle.close()
  }

  /** Sets folder modes (deepest first, so a read-only folder does not block its children) and the state folder's, and publishes the copy as pending. */
  async finish(root?: StateRoot): Promise<LocalCopy> {
    await applyFolderModes(path.join(this.partialDir, 'state'), this.dirs)
    if (root) await applyStateRoot(path.join(this.partialDir, 'state'), root)
    await writeRecord(this.partialDir, this.record)
    await refuseOtherPrimary(this.finalDir, this.record)
    await removeTree(this.finalDir)
    await fs.rename(this.partialDir, this.finalDir)
    return {...this.record, root: this.root, dir: this.finalDir, stateDir: path.join(this.finalDir, 'state'), partial: false, mtimeMs: Date.now()}
  }

  async abort(): Promise<void> {
    await removeTree(this.partialDir).catch(() => {})
  }
}

function recordOf(copy: LocalCopy): CopyRecord {
  const {format, job, taskId, checkpointId, node, status, files, bytes, createdAt, confirmedAt, primary} = copy
  return {format, job, taskId, checkpointId, node, status, files, bytes, createdAt, confirmedAt, ...(primary === undefined ? {} : {primary})}
}

/** The same checkpoint id of another primary may sit where this copy goes: it is not ours to replace. */
async function refuseOtherPrimary(dir: string, record: CopyRecord): Promise<void> {
  let theirs: CopyRecord
  try {
    theirs = JSON.parse(await fs.readFile(path.join(dir, RECORD), 'utf8')) as CopyRecord
  } catch {
    // no readable record: nothing shows the folder belongs to another primary
    return
  }
  if (theirs.primary !== undefined && record.primary !== undefined && theirs.primary !== record.primary) {
    throw new Error(`${dir} holds the copy of ${theirs.checkpointId} of another primary store (${theirs.primary}); it is left alone`)
  }
}

async function writeRecord(dir: string, record: CopyRecord): Promise<void> {
  const temp = path.join(dir, `${RECORD}.tmp-${randomBytes(4).toString('hex')}`)
  await fs.writeFile(temp, JSON.stringify(record, null, 2) + '\n')
  await fs.rename(temp, path.join(dir, RECORD))
}

async function readCopy(root: string, dir: string, taskId: string, name: string, store: SecondaryStore): Promise<LocalCopy | undefined> {
  const partialAt = name.indexOf(PARTIAL)
  const checkpointId = partialAt >= 0 ? name.slice(0, partialAt) : name
  if (checkpointNumber(checkpointId) === undefined) return undefined
  let st
  try {
    st = await fs.stat(dir)
  } catch {
    // gone meanwhile: no copy
    return undefined
  }
  if (!st.isDirectory()) return undefined
  const base = {root, dir, stateDir: path.join(dir, 'state'), mtimeMs: st.mtimeMs}
  if (partialAt < 0) {
    try {
      const record = JSON.parse(await fs.readFile(path.join(dir, RECORD), 'utf8')) as CopyRecord
      if (record.checkpointId === checkpointId && record.taskId === taskId) return {...record, ...base, partial: false}
    } catch {
      // no readable record: treat as a leftover below
    }
  }
  return {format: FORMAT_VERSION, job: store.job, taskId, checkpointId, node: store.node, status: 'pending', files: 0, bytes: await treeBytes(dir), createdAt: st.mtime.toISOString(), ...base, partial: true}
}
