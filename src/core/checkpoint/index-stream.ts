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

const ENTRIES = Buffer.from(',"entries":[')

/**
 * JSON.parse of an index, one entry at a time, so the whole text as one string (about 37 MB at
 * 200,000 files) never exists beside the parsed entries. Any layout other than the one
 * indexChunks writes (no spaces, `entries` last) is parsed whole, so the result is always JSON.parse's.
 */
export function parseIndexJson(raw: Buffer): unknown {
  const whole = () => JSON.parse(raw.toString('utf8'))
  const at = raw.indexOf(ENTRIES)
  if (at < 0) return whole()
  let head: Record<string, unknown>
  try {
    head = JSON.parse(raw.toString('utf8', 0, at) + '}')
  } catch {
    return whole()
  }
  if (!head || typeof head !== 'object' || Array.isArray(head) || 'entries' in head) return whole()
  const entries: unknown[] = []
  let p = at + ENTRIES.length
  if (raw[p] !== CLOSE_ARRAY) {
    for (;;) {
      if (raw[p] !== OPEN_OBJECT) return whole()
      const end = objectEnd(raw, p)
      if (end < 0) return whole()
      entries.push(JSON.parse(raw.toString('utf8', p, end)))
      p = end + 1
      if (raw[end] === CLOSE_ARRAY) break
      if (raw[end] !== COMMA) return whole()
    }
  } else p++
  if (p !== raw.length - 1 || raw[p] !== CLOSE_OBJECT) return whole()
  return {...head, entries}
}

const [OPEN_OBJECT, CLOSE_OBJECT, OPEN_ARRAY, CLOSE_ARRAY, QUOTE, BACKSLASH, COMMA] = [0x7b, 0x7d, 0x5b, 0x5d, 0x22, 0x5c, 0x2c]

/** The index just past the object that starts at `start` (brackets counted outside strings), or -1. */
function objectEnd(raw: Buffer, start: number): number {
  let depth = 0
  let inString = false
  for (let i = start; i < raw.length; i++) {
    const c = raw[i]
    if (inString) {
      if (c === BACKSLASH) i++
      else if (c === QUOTE) inString = false
    } else if (c === QUOTE) inString = true
    else if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++
    else if ((c === CLOSE_OBJECT || c === CLOSE_ARRAY) && --depth === 0) return i + 1
  }
  return -1
}
