// A format-2 local copy keeps its task index beside its state (index.json, byte for byte the
// primary's); the copy serves a checkpoint only while that file has the manifest's size and SHA-256.
import * as fs from 'node:fs/promises'
import {createHash} from '../util/crypto.js'
import type {LocalCopy} from './copy-record.js'
import type {LocalLayout} from './layout.js'

/** True when the copy's index.json is the index the manifest names (same size and SHA-256). */
export async function copyIndexMatches(layout: LocalLayout, copy: Pick<LocalCopy, 'dir' | 'indexSha256'>, record: {indexSize: number; indexSha256: string}): Promise<boolean> {
  if (copy.indexSha256 !== undefined && copy.indexSha256 !== record.indexSha256) return false
  // unreadable or missing: the copy is not used
  const raw = await fs.readFile(layout.indexFile(copy.dir)).catch(() => undefined)
  return raw !== undefined && raw.length === record.indexSize && createHash('sha256').update(raw).digest('hex') === record.indexSha256
}
