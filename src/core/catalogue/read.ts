// Reads a checkpoint's manifest and its tasks' indexes from the primary store, checked against
// the keys they were read from and the digests the manifest records.
import {createHash} from '../util/crypto.js'
import {getBuffer, type PrimaryStore} from '../stores/store.js'
import type {CheckpointId} from '../format/ids.js'
import {IndexParser, parseIndexJson} from '../format/index-stream.js'
import {checkIndexV2, type TaskIndexV2} from '../format/index2.js'
import {keys} from '../format/keys.js'
import {ManifestError} from '../errors.js'
import {checkIndex, parseManifest, type Manifest, type ManifestV2, type TaskIndex, type TaskRecord, type TaskRecordV2} from '../format/manifest.js'

/** Reads the manifest at a checkpoint's key; one that names another checkpoint or job is corrupt. */
export async function readManifest(primary: PrimaryStore, job: string, id: CheckpointId): Promise<Manifest | ManifestV2> {
  const manifest = parseManifest(await getBuffer(primary, keys.manifest(job, id)), `checkpoint ${id}`)
  if (manifest.checkpointId !== id) throw new ManifestError(`checkpoint ${id}: the manifest at its key names checkpoint ${JSON.stringify(manifest.checkpointId)}`)
  if (manifest.job !== job) throw new ManifestError(`checkpoint ${id}: the manifest at its key names job ${JSON.stringify(manifest.job)}, not ${JSON.stringify(job)}`)
  return manifest
}

/** Chunks of a streamed index: small ones die young, where big ones would wait for a full collection. */
const INDEX_CHUNK = 64 << 10

/**
 * Reads a task index, parsed as it streams in and checked against its manifest record, so a big
 * one is never held whole (37 MB at 200,000 files, garbage V8 kept through a whole restore). An
 * index in another layout than ckpt's own is read again and parsed whole.
 */
export async function readIndex(primary: PrimaryStore, manifest: Pick<Manifest, 'checkpointId'>, record: TaskRecord): Promise<TaskIndex> {
  const where = `checkpoint ${manifest.checkpointId}`
  return checkIndex((await readIndexDocument(primary, where, record)) as TaskIndex, record, where)
}

/** Reads a format-2 task index, checked against its record's digest and for blobs inside its packs. */
export async function readIndexV2(primary: PrimaryStore, manifest: Pick<ManifestV2, 'checkpointId'>, record: TaskRecordV2): Promise<TaskIndexV2> {
  const where = `checkpoint ${manifest.checkpointId}`
  return checkIndexV2((await readIndexDocument(primary, where, record)) as TaskIndexV2, record.taskId, where)
}

/** An index's JSON, streamed in and checked against the size and SHA-256 its record names. */
async function readIndexDocument(primary: PrimaryStore, where: string, record: Pick<TaskRecord, 'taskId' | 'index' | 'indexSize' | 'indexSha256'>): Promise<unknown> {
  const parser = new IndexParser()
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of await primary.get(record.index, {chunkSize: INDEX_CHUNK})) {
    size += (chunk as Buffer).length
    hash.update(chunk as Buffer)
    parser.push(chunk as Buffer)
  }
  if (size !== record.indexSize || hash.digest('hex') !== record.indexSha256) {
    throw new ManifestError(`${where}: index of task ${record.taskId} does not match the digest in the manifest`)
  }
  const doc = parser.end()
  if (doc !== undefined) return doc
  const raw = await getBuffer(primary, record.index, record.indexSize)
  if (raw.length !== record.indexSize || createHash('sha256').update(raw).digest('hex') !== record.indexSha256) {
    throw new ManifestError(`${where}: index of task ${record.taskId} does not match the digest in the manifest`)
  }
  try {
    return parseIndexJson(raw)
  } catch {
    throw new ManifestError(`${where}: index of task ${record.taskId} is not valid JSON`)
  }
}
