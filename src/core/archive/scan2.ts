// Lists a state folder for format 2: format 1's walk (same order, same refusals), with each
// entry's change stamps in nanoseconds (size, mtime, ctime, inode, device: restic's rule), so the
// next take can tell an unchanged file without reading it.
import {lstatSync, type BigIntStats} from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {OperationError} from '../errors.js'
import type {EntryV2} from '../format/index2.js'
import type {FileEntry} from '../format/manifest.js'
import {checkLinks} from './links.js'
import {namedCall, namedCallSync, refuseNonUtf8Names, shown, validUtf8} from './tree.js'

export interface ScanV2 {
  entries: EntryV2[]
  /** Date.now() when the scan began. */
  startedMs: number
}

/** The stamps of a file as a format-2 entry holds them. */
export function stampsOf(st: BigIntStats): Pick<EntryV2, 'mtimeNs' | 'ctimeNs' | 'ino' | 'dev'> {
  return {mtimeNs: st.mtimeNs.toString(), ctimeNs: st.ctimeNs.toString(), ino: st.ino.toString(), dev: st.dev.toString()}
}

/** True when a file's stamps equal a record that was not racy, and the file is not racy now. */
function unchangedSince(before: EntryV2, st: BigIntStats, scanStartedMs: number): boolean {
  return before.type === 'file' && !before.racy && stillSame(before, st) && !isRacy(st.ctimeNs, scanStartedMs)
}

/** True when a file's stamps (an fstat after reading it) still show what the scan recorded. */
export function stillSame(entry: EntryV2, st: BigIntStats): boolean {
  const now = stampsOf(st)
  return st.isFile() && Number(st.size) === entry.size && now.mtimeNs === entry.mtimeNs && now.ctimeNs === entry.ctimeNs && now.ino === entry.ino && now.dev === entry.dev
}

/**
 * A change this close before the scan could hide a later write in the same clock tick: file times
 * come from a coarse clock (1-10 ms; whole seconds on some file systems, seen as a time of whole seconds).
 */
const TICK_NS = 20_000_000n
const COARSE_TICK_NS = 2_000_000_000n

export function isRacy(ctimeNs: bigint, scanStartedMs: number): boolean {
  const tick = ctimeNs % 1_000_000_000n === 0n ? COARSE_TICK_NS : TICK_NS
  return ctimeNs > BigInt(scanStartedMs) * 1_000_000n - tick
}

/**
 * `base`: the records of the last checkpoint by path. A file whose stamps equal its record there
 * is listed as that very record (no new one is made: 100,000 unchanged files cost one record each).
 */
export async function scanStateV2(root: string, what: string, base?: ReadonlyMap<string, EntryV2>): Promise<ScanV2> {
  let rootStat
  try {
    rootStat = await fs.stat(root)
  } catch (error) {
    throw new OperationError(`${what}: ${root} cannot be read (${(error as NodeJS.ErrnoException).code})`, {cause: error})
  }
  if (!rootStat.isDirectory()) throw new OperationError(`${what}: ${root} is not a folder`)
  const startedMs = Date.now()
  const entries: EntryV2[] = []
  const named = <T>(rel: string, call: () => Promise<T>) => namedCall(root, what, rel, call)
  const walk = async (dir: string, rel: string): Promise<void> => {
    const names = (await named(rel, () => fs.readdir(dir))).sort()
    if (names.some((n) => n.includes('\uFFFD'))) await refuseNonUtf8Names(what, dir, rel)
    for (const name of names) {
      const abs = path.join(dir, name)
      const relPath = rel === '' ? name : `${rel}/${name}`
      // lstat on this thread: a stat of a cached inode costs microseconds, a trip through the
      // thread pool several times that (100,000 files: 0.65 s here against 2.3-3.6 s by promise).
      const st = namedCallSync(root, what, relPath, () => lstatSync(abs, {bigint: true}))
      const mode = Number(st.mode) & 0o7777
      const mtimeMs = Number(st.mtimeMs)
      const uid = Number(st.uid)
      const gid = Number(st.gid)
      const mtimeNs = st.mtimeNs.toString()
      if (st.isDirectory()) {
        entries.push({path: relPath, type: 'dir', mode, size: 0, mtimeMs, mtimeNs, uid, gid})
        await walk(abs, relPath)
      } else if (st.isFile()) {
        const before = base?.get(relPath)
        if (before && unchangedSince(before, st, startedMs)) {
          entries.push(before)
          continue
        }
        const entry: EntryV2 = {path: relPath, type: 'file', mode, size: Number(st.size), mtimeMs, uid, gid, ...stampsOf(st), blobs: undefined}
        if (isRacy(st.ctimeNs, startedMs)) entry.racy = true
        entries.push(entry)
      } else if (st.isSymbolicLink()) {
        const target = await named(relPath, () => fs.readlink(abs))
        if (target.includes('\uFFFD') && !validUtf8(await fs.readlink(abs, {encoding: 'buffer'}))) {
          throw new OperationError(`${what}: cannot capture symlink ${shown(relPath)}: its target is not valid UTF-8; ckpt records names as UTF-8 — point it at a UTF-8 name`)
        }
        entries.push({path: relPath, type: 'symlink', mode, size: 0, mtimeMs, mtimeNs, target, uid, gid})
      } else {
        throw new OperationError(`${what}: ${abs} is a special file (socket, FIFO or device); ckpt captures files, folders and symlinks only — move it out of the state folder`)
      }
    }
  }
  await walk(root, '')
  checkLinks(entries as FileEntry[], what)
  return {entries, startedMs}
}
