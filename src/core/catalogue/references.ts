// Which packs completed format-2 checkpoints need: the pack tables at the head of their task
// indexes (`packs` comes before `entries`, so a table is read without the entries behind it).
import type {PrimaryStore} from '../stores/store.js'
import type {CheckpointId} from '../format/ids.js'
import type {PackRef} from '../format/index2.js'
import type {ManifestV2, TaskRecordV2} from '../format/manifest.js'
import {isHexDigest} from '../util/digest.js'
import {mapLimit} from '../util/pool.js'
import {readIndexV2} from './read.js'

/** The packs one task of one checkpoint names. */
export interface PackTable {
  checkpointId: CheckpointId
  taskId: string
  packs: PackRef[]
}

/** The head of an index is read in pieces this big; a table never needs the entries. */
const HEAD_CHUNK = 64 << 10
const HEAD_LIMIT = 64 << 20

/**
 * The pack table of one task index, from its head. An index whose head is not laid out as ckpt
 * writes it is read whole and checked against its digest instead.
 */
export async function readPackTable(primary: PrimaryStore, manifest: Pick<ManifestV2, 'checkpointId'>, record: TaskRecordV2): Promise<PackRef[]> {
  let text = ''
  for await (const chunk of await primary.get(record.index, {chunkSize: HEAD_CHUNK})) {
    text += (chunk as Buffer).toString('latin1')
    const table = packsInHead(text)
    if (table !== undefined) return table
    if (text.length > HEAD_LIMIT || /[{,]"entries":/.test(text)) break
  }
  return (await readIndexV2(primary, manifest, record)).packs
}

/** The `packs` array of an index's head, once the head holds all of it and it is well formed. */
export function packsInHead(text: string): PackRef[] | undefined {
  const start = /^\{(?:(?:[^[\]{}]|\{[^{}]*\})*?,)?"packs":\[/.exec(text)
  if (!start) return undefined
  const end = text.indexOf(']', start[0].length)
  if (end < 0) return undefined
  try {
    const packs = JSON.parse(text.slice(start[0].length - 1, end + 1)) as PackRef[]
    if (Array.isArray(packs) && packs.every((p) => isHexDigest(p?.id) && Number.isSafeInteger(p.size) && p.size >= 0)) return packs
  } catch {
    // not ckpt's own layout: the caller reads the whole index instead
  }
  return undefined
}

/** The pack tables of every task of a checkpoint. */
export async function packTablesOf(primary: PrimaryStore, manifest: ManifestV2): Promise<PackTable[]> {
  return mapLimit(manifest.tasks, 4, async (record) => ({checkpointId: manifest.checkpointId, taskId: record.taskId, packs: await readPackTable(primary, manifest, record)}))
}

/** For each pack id, the checkpoints whose tables name it. */
export function packUsers(tables: PackTable[]): Map<string, Set<CheckpointId>> {
  const users = new Map<string, Set<CheckpointId>>()
  for (const table of tables) {
    for (const pack of table.packs) {
      const set = users.get(pack.id) ?? new Set<CheckpointId>()
      set.add(table.checkpointId)
      users.set(pack.id, set)
    }
  }
  return users
}
