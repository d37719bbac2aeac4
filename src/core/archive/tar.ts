// A minimal POSIX tar (ustar + pax) writer. The primary copy of a task is a plain tar, so
// standard tools can read it in an emergency; ckpt itself finds bytes by the offsets it records.

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

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0'
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`
  let length = Buffer.byteLength(body) + 1
  while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body)
  return Buffer.from(`${length}${body}`)
}

const isAscii = (s: string) => /^[\x20-\x7e]*$/.test(s)

/** Owner ids that fit a ustar field (7 octal digits); larger ones go in a pax record. */
const MAX_USTAR_ID = 0o7777777

function header(name: string, type: string, mode: number, size: number, mtimeMs: number, linkname = '', uid = 0, gid = 0): Buffer {
  const block = Buffer.alloc(BLOCK)
  block.write(name, 0, 100, 'utf8')
  block.write(octal(mode & 0o7777, 8), 100, 'ascii')
  block.write(octal(uid, 8), 108, 'ascii')
  block.write(octal(gid, 8), 116, 'ascii')
  block.write(octal(size, 12), 124, 'ascii')
  block.write(octal(Math.min(0o77777777777, Math.max(0, Math.floor(mtimeMs / 1000))), 12), 136, 'ascii')
  block.write('        ', 148, 'ascii')
  block.write(type, 156, 'ascii')
  block.write(linkname, 157, 100, 'utf8')
  block.write('ustar\0', 257, 'ascii')
  block.write('00', 263, 'ascii')
  let sum = 0
  for (const byte of block) sum += byte
  block.write(octal(sum, 7) + ' ', 148, 'ascii')
  return block
}

/** The header block(s) for one entry; a pax header goes first when a field does not fit ustar. */
export function tarHeader(entry: TarEntry): Buffer {
  const name = entry.type === 'dir' ? `${entry.path}/` : entry.path
  const link = entry.target ?? ''
  const size = entry.type === 'file' ? entry.size : 0
  const records: Buffer[] = []
  if (Buffer.byteLength(name) > 100 || !isAscii(name)) records.push(paxRecord('path', name))
  if (Buffer.byteLength(link) > 100 || !isAscii(link)) records.push(paxRecord('linkpath', link))
  if (size > 0o77777777777) records.push(paxRecord('size', String(size)))
  const [uid, gid] = [entry.uid ?? 0, entry.gid ?? 0]
  if (uid > MAX_USTAR_ID) records.push(paxRecord('uid', String(uid)))
  if (gid > MAX_USTAR_ID) records.push(paxRecord('gid', String(gid)))
  // ustar holds whole seconds from 1970 only: milliseconds and earlier dates need the pax record.
  const ms = Math.floor(entry.mtimeMs)
  if (ms % 1000 !== 0 || ms < 0 || ms / 1000 > 0o77777777777) records.push(paxRecord('mtime', paxSeconds(ms)))
  const type = entry.type === 'file' ? '0' : entry.type === 'dir' ? '5' : '2'
  const ids = [uid > MAX_USTAR_ID ? 0 : uid, gid > MAX_USTAR_ID ? 0 : gid] as const
  const main = header(asciiName(name), type, entry.mode, size > 0o77777777777 ? 0 : size, entry.mtimeMs, asciiName(link), ...ids)
  if (records.length === 0) return main
  const pax = Buffer.concat(records)
  return Buffer.concat([header('PaxHeader', 'x', 0o644, pax.length, entry.mtimeMs), pax, Buffer.alloc(padding(pax.length)), main])
}

/** Milliseconds as pax decimal seconds, exact and signed: -500 is "-0.500". */
export function paxSeconds(ms: number): string {
  const abs = Math.abs(ms)
  return `${ms < 0 ? '-' : ''}${Math.floor(abs / 1000)}.${String(abs % 1000).padStart(3, '0')}`
}

function asciiName(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_')
  return Buffer.byteLength(ascii) > 100 ? ascii.slice(0, 100) : ascii
}

export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK
}

/** Two zero blocks end an archive. */
export const TAR_END = Buffer.alloc(BLOCK * 2)
