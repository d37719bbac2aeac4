// The documents behind 'checkpoint list' and 'checkpoint show'.
import type {PrimaryStore} from '../stores/store.js'
import type {CheckpointId} from '../format/ids.js'
import {readCatalogue, resolveCheckpointId} from './catalogue.js'
import {isManifestV2, type Manifest} from '../format/manifest.js'
import {readIndex, readIndexV2, readManifest} from './read.js'

/** What a listing needs of an opened job (context.ts's JobContext is one). */
export interface CatalogueScope {
  primary: PrimaryStore
  job: {name: string}
}

export interface CheckpointListResult {
  checkpoints: Array<{
    checkpointId: CheckpointId
    status: 'completed' | 'incomplete'
    createdAt: string
    tasks: number
    bytes: number
    /** When the commit happened, and the take's time from start to commit (manifests that record both). */
    completedAt?: string
    durationMs?: number
    /** Bytes this checkpoint added to the primary: format 2, the blobs its take stored first (the sum of its tasks'); format 1 stores the whole state, so its size. */
    addedBytes: number
    /** The format of its commit record (absent while it has none). */
    format?: number
    /** Its commit record is an abort record: it never completes. */
    aborted?: true
    /** A completed checkpoint whose manifest cannot be read (or names another checkpoint or job): it is never restored. */
    broken?: true
    /** Why it is broken. */
    problem?: string
  }>
}

export async function listCheckpoints(ctx: CatalogueScope): Promise<CheckpointListResult> {
  const catalogue = await readCatalogue(ctx.primary, ctx.job.name)
  return {
    checkpoints: catalogue.all.map(({checkpointId, status, createdAt, tasks, bytes, problem, manifest, format, aborted}) => ({
      checkpointId,
      status,
      createdAt,
      tasks,
      bytes,
      ...timesOf(manifest),
      addedBytes: manifest && isManifestV2(manifest) ? manifest.tasks.reduce((sum, t) => sum + t.addedBytes, 0) : bytes,
      ...(format === undefined ? {} : {format}),
      ...(aborted ? {aborted} : {}),
      ...(problem === undefined ? {} : {broken: true as const, problem}),
    })),
  }
}

/** Start-to-commit time of a take, when its manifest holds both times. */
function timesOf(manifest: Pick<Manifest, 'createdAt' | 'completedAt'> | undefined): {completedAt?: string; durationMs?: number} {
  const started = Date.parse(manifest?.createdAt ?? '')
  const completed = Date.parse(manifest?.completedAt ?? '')
  if (!Number.isFinite(started) || !Number.isFinite(completed)) return {}
  return {completedAt: manifest!.completedAt, durationMs: Math.max(0, completed - started)}
}

export interface ShownTask {
  taskId: string
  files: number
  bytes: number
  /** Format 1: the task's tar; format 2 has none (its bytes are in packs). */
  archive?: string
  /** The task index. */
  index: string
  /** 1 or 2. */
  format: number
  /** Format 2: the checkpoint whose records the take trusted for unchanged files. */
  base?: string
  /** Bytes this checkpoint added to the primary for the task (format 1: the whole state). */
  addedBytes: number
  /** Format 2: packs the index names. */
  packs?: number
  entries: Array<{path: string; type: string; size: number; mode: string; sha256?: string; blobs?: number}>
}

export interface CheckpointShowResult {
  checkpointId: CheckpointId
  status: 'completed'
  createdAt: string
  completedAt: string
  node: string
  /** 1 or 2; format 2 also names its digest. */
  format: number
  digest?: string
  tasks: ShownTask[]
}

const modeOf = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0')

export async function showCheckpoint(ctx: CatalogueScope, id: string | undefined): Promise<CheckpointShowResult> {
  const checkpointId = await resolveCheckpointId(ctx.primary, ctx.job.name, id)
  const manifest = await readManifest(ctx.primary, ctx.job.name, checkpointId)
  const tasks: ShownTask[] = []
  if (isManifestV2(manifest)) {
    for (const record of manifest.tasks) {
      const index = await readIndexV2(ctx.primary, manifest, record)
      tasks.push({
        taskId: record.taskId,
        files: record.files,
        bytes: record.bytes,
        index: record.index,
        format: 2,
        ...(record.base === undefined ? {} : {base: record.base}),
        addedBytes: record.addedBytes,
        packs: record.packs,
        entries: index.entries.map((e) => ({path: e.path, type: e.type, size: e.size, mode: modeOf(e.mode), ...(e.type === 'file' ? {blobs: e.blobs?.length ?? 0} : {})})),
      })
    }
  } else {
    for (const record of manifest.tasks) {
      const index = await readIndex(ctx.primary, manifest, record)
      tasks.push({
        taskId: record.taskId,
        files: record.files,
        bytes: record.bytes,
        archive: record.archive,
        index: record.index,
        format: 1,
        addedBytes: record.bytes,
        entries: index.entries.map((e) => ({path: e.path, type: e.type, size: e.size, mode: modeOf(e.mode), ...(e.sha256 ? {sha256: e.sha256} : {})})),
      })
    }
  }
  const digest = isManifestV2(manifest) ? {digest: manifest.digest} : {}
  return {checkpointId, status: 'completed', createdAt: manifest.createdAt, completedAt: manifest.completedAt, node: manifest.node, format: manifest.format, ...digest, tasks}
}
