// The headers of a POSIX tar (ustar + pax), encoded by node-tar. The primary copy of a task is a
// plain tar, so standard tools can read it in an emergency; ckpt writes the stream itself (header,
// bytes, padding per entry) and finds bytes by the offsets it records in the index.
import {Header, type HeaderData} from 'tar/header'
import {Pax} from 'tar/pax'

const BLOCK = 512

export interface TarEntry {
  path: string
  type: 'file' | 'dir' | 'symlink'
  mode: number
  size: number
  mtimeMs: number
  target?: string
  uid?: number
  gid?: number
}

const TYPES = {file: 'File', dir: 'Directory', symlink: 'SymbolicLink'} as const

/** The fields that may not fit a ustar header. */
const PAX_FIELDS = ['path', 'linkpath', 'size', 'uid', 'gid', 'mtime'] as const

/** The header block(s) for one entry; a pax header goes first when a field does not fit ustar. */
export function tarHeader(entry: TarEntry): Buffer {
  const ms = Math.floor(entry.mtimeMs)
  const fields: HeaderData = {
    path: entry.type === 'dir' ? `${entry.path}/` : entry.path,
    type: TYPES[entry.type],
    mode: entry.mode & 0o7777,
    size: entry.type === 'file' ? entry.size : 0,
    // Whole seconds: node-tar encodes a time beyond ustar's range only when it is a whole number.
    mtime: new Date(Math.floor(ms / 1000) * 1000),
    uid: entry.uid ?? 0,
    gid: entry.gid ?? 0,
    linkpath: entry.target ?? '',
  }
  const main = new Header(fields)
  const pax: HeaderData = main.encode() ? paxFields(fields) : {}
  if (splitWrongly(main.block!, fields.path!)) pax.path = fields.path
  // ustar holds whole seconds: milliseconds need the pax record too.
  if (ms % 1000 !== 0) pax.mtime = new Date(ms)
  return Object.keys(pax).length > 0 ? Buffer.concat([paxHeader(pax, fields.mtime!), main.block!]) : main.block!
}

/** node-tar splits a name of exactly 100 bytes into prefix "." and name: then the name needs a pax record. */
function splitWrongly(block: Buffer, name: string): boolean {
  return Buffer.byteLength(name) >= 100 && new Header(block).path!.replace(/\/$/, '') !== name.replace(/\/$/, '')
}

/** The fields that ustar cannot hold, each tried alone with node-tar's own encoder (rare: long names, huge ids). */
function paxFields(fields: HeaderData): HeaderData {
  const pax: HeaderData = {}
  for (const key of PAX_FIELDS) if (new Header({[key]: fields[key]}).encode()) Object.assign(pax, {[key]: fields[key]})
  return pax
}

/** A pax extended header: node-tar's records behind a header of our own (Pax.encode cannot hold an exact time before 1970). */
function paxHeader(pax: HeaderData, mtime: Date): Buffer {
  const body = Buffer.from(new Pax(pax).encodeBody())
  const head = new Header({path: 'PaxHeader', type: 'ExtendedHeader', mode: 0o644, uid: 0, gid: 0, size: body.length, mtime})
  head.encode()
  return Buffer.concat([head.block!, body, Buffer.alloc(padding(body.length))])
}

export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK
}

/** Two zero blocks end an archive. */
export const TAR_END = Buffer.alloc(BLOCK * 2)
