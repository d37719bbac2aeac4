// A format-2 local copy keeps its task index beside its state (index.json, byte for byte the
// primary's); the copy serves a checkpoint only while that file has the manifest's size and SHA-256.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {createHash} from '../util/crypto.js'
import type {LocalCopy} from './copy-record.js'

export const COPY_INDEX = 'index.json'

/** True when the copy's index.json is the index the manifest names (same size and SHA-256). */
export async function copyIndexMatches(copy: Pick<LocalCopy, 'dir'>, record: {indexSize: number; indexSha256: string}): Promise<boolean> {
  // unreadable or missing: the copy is not used
  const raw = await fs.readFile(path.join(copy.dir, COPY_INDEX)).catch(() => undefined)
  return raw !== undefined && raw.length === record.indexSize && createHash('sha256').update(raw).digest('hex') === record.indexSha256
}
