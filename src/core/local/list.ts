// This node's secondary copies with their status against the primary (pending / confirmed /
// orphaned, or unknown when the primary cannot be reached).
import {completedIds} from '../catalogue/catalogue.js'
import type {LocalScope} from './scope.js'
import {messageOf, StoreUnavailableError} from '../errors.js'
import {findLeftovers, type LeftoverKind} from './leftovers.js'
import type {LocalCopy} from './copy-record.js'
import {uniqueBytes} from '../util/tree-bytes.js'

export type LocalStatus = 'pending' | 'confirmed' | 'orphaned' | 'unknown'

export interface LocalCopyView {
  taskId: string
  checkpointId: string
  status: LocalStatus
  bytes: number
  root: string
  node: string
  /** True for a leftover of a take that never finished writing the copy. */
  partial: boolean
  /** Format 2: bytes this copy wrote anew; its other files are hard links of an earlier copy's. */
  copiedBytes?: number
}

export interface LocalListResult {
  copies: LocalCopyView[]
  /** bytes: the copies' state sizes added up; diskBytes: what they take on disk, a file shared by hard links counted once. */
  roots: Array<{root: string; copies: number; bytes: number; diskBytes: number}>
  /** What interrupted work left on this node (unfinished copies, snapshot folders, scratch copies), for 'local prune'. */
  leftovers: {count: number; bytes: number; items: Array<{kind: LeftoverKind; path: string; bytes: number; pid?: number; processAlive: boolean}>}
  /** Set when the primary could not be read and statuses are unknown. */
  warning?: string
}

/** Completed checkpoint ids, or undefined with a reason when the primary cannot be read. */
export async function completedOrUnknown(ctx: LocalScope): Promise<{completed?: Set<string>; warning?: string}> {
  try {
    return {completed: new Set(await completedIds(ctx.primary, ctx.job.name))}
  } catch (error) {
    if (!(error instanceof StoreUnavailableError)) throw error
    return {warning: `primary store ${ctx.primary.displayUrl} cannot be reached (${messageOf(error)}); statuses are unknown`}
  }
}

export function statusOf(copy: LocalCopy, completed: Set<string> | undefined): LocalStatus {
  if (copy.partial) return 'pending'
  if (!completed) return 'unknown'
  if (completed.has(copy.checkpointId)) return 'confirmed'
  return copy.status === 'confirmed' ? 'orphaned' : 'pending'
}

export async function listLocalCopies(ctx: LocalScope): Promise<LocalListResult> {
  const copies = await ctx.secondary.list()
  const {completed, warning} = await completedOrUnknown(ctx)
  const views = copies.map((copy) => ({
    taskId: copy.taskId,
    checkpointId: copy.checkpointId,
    status: statusOf(copy, completed),
    bytes: copy.bytes,
    root: copy.root,
    node: copy.node,
    partial: copy.partial,
    ...(copy.copiedBytes === undefined ? {} : {copiedBytes: copy.copiedBytes}),
  }))
  const roots = await Promise.all(
    ctx.secondary.roots.map(async (root) => {
      const inRoot = views.filter((v) => v.root === root)
      const diskBytes = await uniqueBytes(copies.filter((c) => c.root === root).map((c) => c.stateDir))
      return {root, copies: inRoot.length, bytes: inRoot.reduce((sum, v) => sum + v.bytes, 0), diskBytes}
    }),
  )
  const items = (await findLeftovers(ctx)).map(({kind, path, bytes, pid, processAlive}) => ({kind, path, bytes, ...(pid === undefined ? {} : {pid}), processAlive}))
  const leftovers = {count: items.length, bytes: items.reduce((sum, item) => sum + item.bytes, 0), items}
  return {copies: views, roots, leftovers, ...(warning ? {warning} : {})}
}
