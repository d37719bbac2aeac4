// Lists a state folder: files, folders and symlinks, in a stable order, refusing what a take
// could not capture or a restore could not put back, by name.
import type {Stats} from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {OperationError} from '../errors.js'
import type {FileEntry} from '../format/manifest.js'
import {giveOwner} from './owners.js'
import {checkLinks} from './links.js'

/** Sets folder modes and times below root, deepest first, so a read-only folder does not block its children. */
export async function applyFolderModes(root: string, entries: FileEntry[]): Promise<void> {
  for (const entry of [...entries].reverse()) {
    if (entry.type !== 'dir') continue
    const target = path.join(root, ...entry.path.split('/'))
    await giveOwner(target, entry)
    await fs.chmod(target, entry.mode & 0o7777)
    await fs.utimes(target, new Date(entry.mtimeMs), new Date(entry.mtimeMs))
  }
}

/**
 * What lstat saw of each entry (same position as in entries), kept in memory only: a file read
 * later must still show these, or it changed while it was captured. Arrays of numbers, not objects,
 * so 200,000 files cost a few MB.
 */
export class Stamps {
  private readonly ctime: number[] = []
  private readonly mtime: number[] = []
  private readonly ino: number[] = []

  add(st: Stats): void {
    this.ctime.push(st.ctimeMs)
    this.mtime.push(st.mtimeMs)
    this.ino.push(st.ino)
  }

  /** True when `st` (an fstat after reading entry i) still shows what the scan saw. */
  same(i: number, size: number, st: Stats): boolean {
    return st.isFile() && st.size === size && st.ctimeMs === this.ctime[i] && st.mtimeMs === this.mtime[i] && st.ino === this.ino[i]
  }

  /**
   * True when entry i changed so shortly before `sinceMs` that a write in the same clock tick could
   * go unseen: file times come from a coarse clock (1-10 ms; whole seconds on some file systems).
   */
  recent(i: number, sinceMs: number): boolean {
    const ctime = this.ctime[i]
    return ctime > sinceMs - (ctime % 1000 === 0 ? COARSE_TICK_MS : TICK_MS)
  }

  /** The latest moment a recent change of entry i may have happened. */
  settledAt(i: number): number {
    const ctime = this.ctime[i]
    return ctime + (ctime % 1000 === 0 ? COARSE_TICK_MS : TICK_MS)
  }
}

const TICK_MS = 20
const COARSE_TICK_MS = 2000

export interface Scan {
  entries: FileEntry[]
  stamps: Stamps
  /** Date.now() when the scan began. */
  startedMs: number
}

export async function scanTree(root: string, what: string): Promise<FileEntry[]> {
  return (await scanState(root, what)).entries
}

export async function scanState(root: string, what: string): Promise<Scan> {
  let rootStat
  try {
    rootStat = await fs.stat(root)
  } catch (error) {
    throw new OperationError(`${what}: ${root} cannot be read (${(error as NodeJS.ErrnoException).code})`, {cause: error})
  }
  if (!rootStat.isDirectory()) throw new OperationError(`${what}: ${root} is not a folder`)
  const startedMs = Date.now()
  const entries: FileEntry[] = []
  const stamps = new Stamps()
  const walk = async (dir: string, rel: string): Promise<void> => {
    const names = (await named(rel, () => fs.readdir(dir))).sort()
    if (names.some((n) => n.includes('\uFFFD'))) await refuseNonUtf8(dir, rel)
    for (const name of names) {
      const abs = path.join(dir, name)
      const relPath = rel === '' ? name : `${rel}/${name}`
      const st = await named(relPath, () => fs.lstat(abs))
      const mode = st.mode & 0o7777
      const mtimeMs = Math.floor(st.mtimeMs)
      const {uid, gid} = st
      stamps.add(st)
      // Literals, not a spread: V8 gave each spread-made entry a hidden class of its own (~250 bytes).
      // A file's sha256 and offset exist from the start so filling them in keeps one shape.
      if (st.isDirectory()) {
        entries.push({path: relPath, mode, mtimeMs, type: 'dir', size: 0, uid, gid})
        await walk(abs, relPath)
      } else if (st.isFile()) {
        entries.push({path: relPath, mode, mtimeMs, type: 'file', size: st.size, sha256: undefined, offset: undefined, uid, gid})
      } else if (st.isSymbolicLink()) {
        const target = await named(relPath, () => fs.readlink(abs))
        if (target.includes('\uFFFD') && !validUtf8(await fs.readlink(abs, {encoding: 'buffer'}))) {
          throw new OperationError(`${what}: cannot capture symlink ${shown(relPath)}: its target is not valid UTF-8; ckpt records names as UTF-8 — point it at a UTF-8 name`)
        }
        entries.push({path: relPath, mode, mtimeMs, type: 'symlink', size: 0, target, uid, gid})
      } else {
        throw new OperationError(`${what}: ${abs} is a special file (socket, FIFO or device); ckpt captures files, folders and symlinks only — move it out of the state folder`)
      }
    }
  }
  const named = <T>(rel: string, call: () => Promise<T>) => namedCall(root, what, rel, call)
  const refuseNonUtf8 = (dir: string, rel: string) => refuseNonUtf8Names(what, dir, rel)
  await walk(root, '')
  checkLinks(entries, what)
  return {entries, stamps, startedMs}
}

/** Runs one file-system call of a scan for `rel`, naming it (not the state folder) when it fails. */
export async function namedCall<T>(root: string, what: string, rel: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    throw namedError(root, what, rel, error)
  }
}

/** namedCall for a synchronous call. */
export function namedCallSync<T>(root: string, what: string, rel: string, call: () => T): T {
  try {
    return call()
  } catch (error) {
    throw namedError(root, what, rel, error)
  }
}

function namedError(root: string, what: string, rel: string, error: unknown): OperationError {
  const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message
  const name = rel === '' ? `the state folder ${root}` : shown(rel)
  const why =
    code === 'ENAMETOOLONG'
      ? 'its path is longer than the system allows (ENAMETOOLONG); shorten the names or the nesting'
      : code === 'EACCES' || code === 'EPERM'
        ? `it cannot be read (${code}); give ckpt's user read access`
        : `it cannot be read (${code})`
  return new OperationError(`${what}: cannot capture ${name}: ${why}`, {cause: error})
}

/** Names the first entry of `dir` whose name is not valid UTF-8, and refuses it. */
export async function refuseNonUtf8Names(what: string, dir: string, rel: string): Promise<void> {
  for (const raw of await fs.readdir(dir, {encoding: 'buffer'})) {
    if (validUtf8(raw)) continue
    const relPath = (rel === '' ? '' : `${rel}/`) + escapeBytes(raw)
    throw new OperationError(`${what}: cannot capture ${shown(relPath)}: its name is not valid UTF-8, and ckpt records names as UTF-8 — rename it (e.g. convmv -f latin1 -t utf8)`)
  }
}

export function validUtf8(raw: Buffer): boolean {
  return Buffer.from(raw.toString('utf8')).equals(raw)
}

/** A name with the bytes that are not UTF-8 written as \xNN. */
export function escapeBytes(raw: Buffer): string {
  let out = ''
  for (let i = 0; i < raw.length;) {
    const n = [1, 2, 3, 4].find((len) => i + len <= raw.length && validUtf8(raw.subarray(i, i + len)))
    if (n === undefined) out += `\\x${raw[i++].toString(16).padStart(2, '0')}`
    else {
      out += raw.toString('utf8', i, i + n)
      i += n
    }
  }
  return out
}

/** A path for a message: a very long one keeps its start and end. */
export function shown(rel: string): string {
  return rel.length > 200 ? `${rel.slice(0, 80)}…${rel.slice(-80)}` : rel
}
