// Writes one task's primary copy (a tar streamed to the store, then its index) and its secondary
// copy (plain files in a local root) while reading the captured state once. The stages: scan the
// state, stream the archive (task-archive.ts) with the secondary copy beside it
// (secondary-sink.ts), write the index, publish the secondary copy as pending.
import {Readable} from 'node:stream'
import {scanState} from '../archive/tree.js'
import {scanStateRoot} from '../archive/owners.js'
import type {CopyWriter, LocalCopy} from '../local/secondary.js'
import {sendOnce, type PrimaryStore} from '../stores/store.js'
import {IndexBody} from '../format/index-stream.js'
import type {CheckpointId} from '../format/ids.js'
import {FORMAT_1, keys} from '../format/keys.js'
import type {TaskRecord} from '../format/manifest.js'
import {SecondarySink} from './secondary-sink.js'
import {TaskArchive, type ScannedState} from './task-archive.js'
import type {ArchiveProgress, ProgressCounts} from '../progress.js'

export interface WriteTaskInput {
  primary: PrimaryStore
  job: string
  checkpointId: CheckpointId
  taskId: string
  sourceDir: string
  /** Where the state folder's own metadata is read (default sourceDir). */
  rootDir?: string
  /** Where to write the secondary copy; undefined writes the primary copy only. */
  secondary?: () => Promise<CopyWriter>
  /** Starts this task's progress phase once its totals are known (issue 15: progress). */
  progress?: (total: ProgressCounts) => ArchiveProgress | undefined
}

export interface WriteTaskResult {
  record: TaskRecord
  /** The pending secondary copy, when it was written. */
  copy?: LocalCopy
  /** Why the secondary copy was not written. */
  secondaryError?: string
}

export async function writeTaskCopies(input: WriteTaskInput): Promise<WriteTaskResult> {
  const state = await scanTask(input)
  const sink = await SecondarySink.open(input.secondary)
  const progress = input.progress?.({bytes: state.total, files: state.entries.filter((e) => e.type === 'file').length})
  const archive = new TaskArchive(state, sink, progress)
  try {
    const body = sendOnce(Readable.from(archive.stream(), {objectMode: false, highWaterMark: 4 << 20}))
    await input.primary.put(keys.archive(input.job, input.checkpointId, input.taskId), body, {onProgress: (sent) => progress?.sent(sent)})
    const record = await writeIndex(input, state, archive)
    progress?.end()
    const copy = await sink.finish(state.root)
    return {record, copy, secondaryError: copy ? undefined : sink.error}
  } catch (error) {
    await sink.abort()
    throw archive.captureError ?? error
  }
}

async function scanTask(input: WriteTaskInput): Promise<ScannedState> {
  const {entries, stamps, startedMs} = await scanState(input.sourceDir, `task ${input.taskId}`)
  // A stateDir that a snapshot command does not need may be missing: its snapshot folder stands in.
  const root = await scanStateRoot(input.rootDir ?? input.sourceDir).catch(() => scanStateRoot(input.sourceDir))
  const total = entries.reduce((sum, e) => sum + e.size, 0)
  return {taskId: input.taskId, sourceDir: input.sourceDir, entries, stamps, startedMs, root, total}
}

/** Writes the index (its entries now carry their digests and offsets) and returns the task's record for the manifest. */
async function writeIndex(input: WriteTaskInput, state: ScannedState, archive: TaskArchive): Promise<TaskRecord> {
  const {job, checkpointId, taskId} = input
  const index = new IndexBody({format: FORMAT_1, taskId, root: state.root, entries: state.entries})
  const indexKey = keys.index(job, checkpointId, taskId)
  await input.primary.put(indexKey, () => index.stream())
  return {
    taskId,
    archive: keys.archive(job, checkpointId, taskId),
    archiveSize: archive.size,
    archiveSha256: archive.hash.digest('hex'),
    index: indexKey,
    indexSize: index.size,
    indexSha256: index.sha256(),
    files: state.entries.filter((e) => e.type === 'file').length,
    bytes: state.total,
  }
}
