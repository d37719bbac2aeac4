// Streams a task index to the primary store in chunks, byte for byte what JSON.stringify of the
// whole index gives, so that a state of many files never holds its index as one string plus one
// buffer (about 36 MB at 100,000 files, all at the end of a take, when memory peaks).
import {createHash} from '../util/crypto.js'
import {Readable} from 'node:stream'
import type {TaskIndex} from './manifest.js'

const CHUNK_CHARS = 64 << 10

/** The index as JSON in chunks of about `chunkChars`; entries are never split across chunks. */
export function* indexChunks(index: TaskIndex, chunkChars = CHUNK_CHARS): Generator<Buffer> {
  // The fields before `entries`, as JSON.stringify writes them, up to the entries' opening bracket.
  const {entries, ...fields} = index
  const head = JSON.stringify({...fields, entries: []})
  let text = head.slice(0, -2)
  for (const [i, entry] of entries.entries()) {
    text += (i === 0 ? '' : ',') + JSON.stringify(entry)
    if (text.length >= chunkChars) {
      yield Buffer.from(text)
      text = ''
    }
  }
  yield Buffer.from(text + ']}')
}

/** A body for store.put that counts and hashes what it gives out, for the manifest's record. */
export class IndexBody {
  size = 0
  private readonly hash = createHash('sha256')

  constructor(private readonly index: TaskIndex) {}

  stream(): Readable {
    return Readable.from(this.counted(), {objectMode: false})
  }

  /** Hex SHA-256 of the bytes given out; call once the put has finished. */
  sha256(): string {
    return this.hash.digest('hex')
  }

  private *counted(): Generator<Buffer> {
    for (const chunk of indexChunks(this.index)) {
      this.size += chunk.length
      this.hash.update(chunk)
      yield chunk
    }
  }
}
