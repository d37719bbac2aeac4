// Streams a task index to the primary store in chunks, byte for byte what JSON.stringify of the
// whole index gives, so that a state of many files never holds its index as one string plus one
// buffer (about 36 MB at 100,000 files, all at the end of a take, when memory peaks).
import {createHash} from '../util/crypto.js'
import {Readable} from 'node:stream'

/** An index as indexChunks writes it (manifest.ts's TaskIndex is one): its fields, then `entries`. */
export interface IndexDocument {
  entries: readonly unknown[]
  [field: string]: unknown
}

const CHUNK_CHARS = 64 << 10
const STRINGIFY_BATCH = 64

/** The index as JSON in chunks of about `chunkChars`; entries are never split across chunks. */
export function* indexChunks(index: IndexDocument, chunkChars = CHUNK_CHARS): Generator<Buffer> {
  // The fields before `entries`, as JSON.stringify writes them, up to the entries' opening bracket.
  const {entries, ...fields} = index
  const head = JSON.stringify({...fields, entries: []})
  let text = head.slice(0, -2)
  // Entries a batch at a time: JSON.stringify of an array is its elements' JSON joined by commas,
  // and one call per batch costs a fraction of one call per entry.
  const size = Math.max(1, Math.min(STRINGIFY_BATCH, Math.floor(chunkChars / 1024)))
  for (let i = 0; i < entries.length; i += size) {
    const batch = JSON.stringify(entries.slice(i, i + size))
    text += (i === 0 ? '' : ',') + batch.slice(1, -1)
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
  private hash = createHash('sha256')

  constructor(private readonly index: IndexDocument) {}

  /** A fresh stream of the index; each call starts the count and the hash over (a retried put). */
  stream(): Readable {
    this.size = 0
    this.hash = createHash('sha256')
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
    // another layout than indexChunks writes: JSON.parse decides
    return whole()
  }
  if (!head || typeof head !== 'object' || Array.isArray(head) || 'entries' in head) return whole()
  const entries: unknown[] = []
  let p = at + ENTRIES.length
  if (raw[p] !== CLOSE_ARRAY) {
    let batching = true
    for (;;) {
      const after = batching ? parseBatches(raw, p, entries, PARSE_BATCH) : p
      if (after === p) batching = false
      else p = after + 1
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

/** Bytes of entries a whole-index parse hands JSON.parse at once. */
const PARSE_BATCH = 1 << 20
/** `},{"` appears only between two objects: inside a JSON string a quote is always escaped. */
const BOUNDARY = Buffer.from('},{"')

/**
 * Parses the entries from `start` (the `{` of an entry) up to a boundary between two entries that
 * lies at least `batch` bytes on (else the last one in `raw`) with one JSON.parse, appends them to
 * `entries`, and gives the position of the comma after them; `start` when there is no such
 * boundary or the text there does not parse. A boundary found inside an entry (an object nested
 * in an array) leaves a bracket open, so such a batch never parses: the caller then goes on entry by entry.
 */
function parseBatches(raw: Buffer, start: number, entries: unknown[], batch: number): number {
  let comma = start
  for (let p = start; raw[p] === OPEN_OBJECT; p = comma + 1) {
    let q = raw.indexOf(BOUNDARY, p + batch - 1)
    if (q < 0) q = raw.lastIndexOf(BOUNDARY)
    if (q < p) break
    let parsed: unknown[]
    try {
      parsed = JSON.parse('[' + raw.toString('utf8', p, q + 1) + ']')
    } catch {
      break
    }
    for (const entry of parsed) entries.push(entry)
    comma = q + 1
  }
  return comma
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

/** Bytes of an index before its entries that a streamed parse holds before it gives up. */
const MAX_HEAD = 1 << 20

/**
 * parseIndexJson fed chunk by chunk (a restore reads the index as it streams in, so neither the
 * whole index nor the chunks of a big one outlive the entries they hold). Only what indexChunks
 * writes is parsed this way; end() gives undefined for anything else, which the caller then
 * parses whole with parseIndexJson, so the result is always JSON.parse's.
 */
export class IndexParser {
  private head: Buffer[] = []
  private headBytes = 0
  private fields: Record<string, unknown> | undefined
  private readonly entries: unknown[] = []
  /** Bytes not parsed yet: the start of an entry, a separator, or the closing `]}`. */
  private tail = Buffer.alloc(0)
  /** What may come next: an entry or the end (`first`), an entry after a comma, a comma or the end. */
  private next: 'first' | 'entry' | 'separator' | 'done' = 'first'
  private odd = false

  push(chunk: Buffer): void {
    if (this.odd) return
    if (!this.fields) return this.pushHead(chunk)
    let raw = this.tail.length === 0 ? chunk : Buffer.concat([this.tail, chunk])
    let p = 0
    if (this.next !== 'separator') {
      // Whole entries up to the chunk's last boundary parsed at once; what is left goes below.
      const after = parseBatches(raw, p, this.entries, raw.length)
      if (after > p) {
        p = after
        this.next = 'separator'
      }
    }
    while (p < raw.length && this.next !== 'done' && !this.odd) {
      const c = raw[p]
      if (c === OPEN_OBJECT && this.next !== 'separator') {
        const end = objectEnd(raw, p)
        if (end < 0) break
        try {
          this.entries.push(JSON.parse(raw.toString('utf8', p, end)))
        } catch {
          this.odd = true
        }
        p = end
        this.next = 'separator'
      } else if (c === COMMA && this.next === 'separator') {
        p++
        this.next = 'entry'
      } else if (c === CLOSE_ARRAY && this.next !== 'entry') {
        p++
        this.next = 'done'
      } else this.odd = true
    }
    // A copy: a view would keep the whole chunk alive.
    raw = raw.subarray(p)
    this.tail = raw.length === 0 ? Buffer.alloc(0) : Buffer.from(raw)
  }

  /** The parsed index, or undefined when it is not in the layout indexChunks writes. */
  end(): unknown {
    if (this.odd || !this.fields || this.next !== 'done' || this.tail.length !== 1 || this.tail[0] !== CLOSE_OBJECT) return undefined
    return {...this.fields, entries: this.entries}
  }

  private pushHead(chunk: Buffer): void {
    this.head.push(chunk)
    this.headBytes += chunk.length
    const raw = Buffer.concat(this.head)
    const at = raw.indexOf(ENTRIES)
    if (at < 0) {
      if (this.headBytes > MAX_HEAD) this.odd = true
      this.head = [raw]
      return
    }
    this.head = []
    try {
      const head = JSON.parse(raw.toString('utf8', 0, at) + '}')
      if (head && typeof head === 'object' && !Array.isArray(head) && !('entries' in head)) this.fields = head
    } catch {
      // Parsed whole by the caller, which reports what is wrong.
    }
    if (!this.fields) this.odd = true
    else this.push(raw.subarray(at + ENTRIES.length))
  }
}
