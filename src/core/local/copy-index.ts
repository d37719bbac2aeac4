// A format-2 local copy keeps its task index beside its state (index.json, byte for byte the
// primary's); the copy serves a checkpoint only while that file has the manifest's size and SHA-256.
import {createReadStream} from 'node:fs'
import {createHash} from '../util/crypto.js'
import type {LocalCopy} from './copy-record.js'
import type {LocalLayout} from './layout.js'

/** True when the copy's index.json is the index the manifest names (same size and SHA-256); read in chunks, never whole (tens of MB at 100,000 files). */
export async function copyIndexMatches(layout: LocalLayout, copy: Pick<LocalCopy, 'dir' | 'indexSha256'>, record: {indexSize: number; indexSha256: string}): Promise<boolean> {
  if (copy.indexSha256 !== undefined && copy.indexSha256 !== record.indexSha256) return false
  const hash = createHash('sha256')
  let size = 0
  try {
    for await (const chunk of createReadStream(layout.indexFile(copy.dir), {highWaterMark: 64 << 10})) {
      size += (chunk as Buffer).length
      hash.update(chunk as Buffer)
    }
  } catch {
    // unreadable or missing: the copy is not used
    return false
  }
  return size === record.indexSize && hash.digest('hex') === record.indexSha256
}
