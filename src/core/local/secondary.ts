// The secondary (task-local) store: copies of task state kept on this node's disk, ready to
// restore without unpacking. It owns a copy's life cycle, as Flink's TaskLocalStateStoreImpl:
// store (a pending copy), retrieve, confirm (its checkpoint completed), abort, prune (retention).
// Where things live is LocalLayout's alone (local/layout.ts).
import * as fs from 'node:fs/promises'
import {checkpointNumber} from '../format/ids.js'
import {FORMAT_1} from '../format/keys.js'
import {removeTree} from '../util/remove-tree.js'
import {readdirOrEmpty, treeBytes} from '../util/tree-bytes.js'
import {readRecord, recordOf, writeRecord, type CopyRecord, type LocalCopy} from './copy-record.js'
import {CopyWriter} from './copy-writer.js'
import {LocalLayout} from './layout.js'
import {copiesBeyondRetention} from './retention.js'

export type {CopyRecord, CopyStatus, LocalCopy} from './copy-record.js'
export type {CopyWriter} from './copy-writer.js'

export class SecondaryStore {
  readonly layout: LocalLayout

  /** `primary` (the primary store's displayUrl) keeps copies of different primaries apart. */
  constructor(
    roots: string[],
    readonly node: string,
    readonly job: string,
    readonly primary?: string,
  ) {
    this.layout = new LocalLayout(roots, node, job)
  }

  get roots(): readonly string[] {
    return this.layout.roots
  }

  /** Starts writing the copy of a task (by its position in the job) for a checkpoint; nothing is visible as a copy until the writer's finish(). */
  async store(taskIndex: number, taskId: string, checkpointId: string): Promise<CopyWriter> {
    const root = this.layout.rootFor(taskIndex)
    const partial = this.layout.partialDir(root, taskId, checkpointId)
    await fs.mkdir(this.layout.stateDir(partial), {recursive: true})
    const record = {...this.pendingRecord(taskId, checkpointId, 0, new Date().toISOString()), ...(this.primary === undefined ? {} : {primary: this.primary})}
    return new CopyWriter(this.layout, root, partial, this.layout.copyDir(root, taskId, checkpointId), record)
  }

  /** The finished copy of a task for a checkpoint, in any root. */
  async retrieve(taskId: string, checkpointId: string): Promise<LocalCopy | undefined> {
    for (const root of this.roots) {
      const copy = await this.readCopy(root, taskId, checkpointId)
      if (copy && !copy.partial && this.ours(copy)) return copy
    }
    return undefined
  }

  /** Its checkpoint completed in the primary: the copy may now be restored from without asking. */
  async confirm(copy: LocalCopy): Promise<void> {
    const record: CopyRecord = {...recordOf(copy), status: 'confirmed', confirmedAt: new Date().toISOString()}
    await writeRecord(this.layout.recordFile(copy.dir), record)
    copy.status = 'confirmed'
    copy.confirmedAt = record.confirmedAt
  }

  /** Its checkpoint failed: the copies of it go (a failure leaves a pending copy that a prune removes). */
  async abort(copies: readonly LocalCopy[]): Promise<void> {
    // aborting copies after a failure that is reported; what stays is a leftover for local prune
    for (const copy of copies) await this.remove(copy).catch(() => {})
  }

  /** Retention after a take: each task keeps its newest `keep` confirmed copies; returns what went. */
  async prune(keep: number, taskIds: readonly string[]): Promise<LocalCopy[]> {
    const copies = (await this.list()).filter((c) => taskIds.includes(c.taskId) && !c.partial && c.status === 'confirmed')
    const doomed = copiesBeyondRetention(copies, keep, (c) => c)
    for (const copy of doomed) await this.remove(copy)
    return doomed
  }

  async remove(copy: LocalCopy): Promise<void> {
    await removeTree(copy.dir)
  }

  /** Every copy of this node and job in every root, partial leftovers included. */
  async list(): Promise<LocalCopy[]> {
    const copies: LocalCopy[] = []
    for (const root of this.roots) {
      for (const taskId of await readdirOrEmpty(this.layout.jobDir(root))) {
        for (const name of await readdirOrEmpty(this.layout.taskDir(root, taskId))) {
          const copy = await this.readCopy(root, taskId, name)
          if (copy && this.ours(copy)) copies.push(copy)
        }
      }
    }
    return copies.sort((a, b) => a.taskId.localeCompare(b.taskId) || (checkpointNumber(a.checkpointId) ?? 0) - (checkpointNumber(b.checkpointId) ?? 0))
  }

  /** A copy recorded for another primary is not this store's: never listed, pruned or restored from. */
  private ours(copy: LocalCopy): boolean {
    return copy.primary === undefined || this.primary === undefined || copy.primary === this.primary
  }

  /** The copy in a task's folder under `name`; a folder without a readable record is an unfinished leftover. */
  private async readCopy(root: string, taskId: string, name: string): Promise<LocalCopy | undefined> {
    const parsed = this.layout.parseCopyName(name)
    if (!parsed) return undefined
    const dir = this.layout.copyDir(root, taskId, name)
    // gone meanwhile: not a copy
    const st = await fs.stat(dir).catch(() => undefined)
    if (!st?.isDirectory()) return undefined
    const base = {root, dir, stateDir: this.layout.stateDir(dir), mtimeMs: st.mtimeMs}
    if (!parsed.partial) {
      const record = await readRecord(this.layout.recordFile(dir))
      if (record?.checkpointId === parsed.checkpointId && record.taskId === taskId) return {...record, ...base, partial: false}
    }
    const {checkpointId} = parsed
    return {...this.pendingRecord(taskId, checkpointId, await treeBytes(dir), st.mtime.toISOString()), ...base, partial: true}
  }

  /** The record of a copy not yet confirmed: one being written, or a folder without a readable record. */
  private pendingRecord(taskId: string, checkpointId: string, bytes: number, createdAt: string): CopyRecord {
    return {format: FORMAT_1, job: this.job, taskId, checkpointId, node: this.node, status: 'pending', files: 0, bytes, createdAt}
  }
}
