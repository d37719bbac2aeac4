// A fast local copy of a state folder, made while its task is paused: folders and symlinks as
// they are, files in parallel (reflinks where the file system has them). Times and modes are
// put back afterwards by the returned finish(), which needs no pause, and so are owners.
import {constants, type Stats} from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {OperationError} from '../errors.js'
import {mapLimit} from '../util/pool.js'
import {canChown, giveOwner, keepOwner} from '../archive/owners.js'
import {scanStateV2} from '../archive/scan2.js'
import type {CaptureHint} from '../checkpoint/take2.js'
import {sameStamps, type EntryV2} from '../format/index2.js'
import {cloneFile} from '../util/sparse.js'

export interface TreeCopy {
  files: number
  bytes: number
  /** Format 2: the scan of the original (its live stamps) and the files copied. */
  scan?: {entries: EntryV2[]; startedMs: number; copied: Set<string>}
  /** Restores modes and modification times on the copy, so it reads like the original. */
  finish(): Promise<void>
}

const PARALLEL = 16

export async function copyTree(from: string, to: string): Promise<TreeCopy> {
  const dirs: Array<{target: string; stat: Stats}> = []
  const files: Array<{source: string; target: string}> = []
  const links: Array<{source: string; target: string}> = []
  const walk = async (source: string, target: string): Promise<void> => {
    const stat = source === from ? await fs.stat(source) : await fs.lstat(source) // a stateDir may itself be a symlink
    dirs.push({target, stat})
    await fs.mkdir(target, {recursive: true, mode: 0o700})
    for (const entry of await fs.readdir(source, {withFileTypes: true})) {
      const s = path.join(source, entry.name)
      const t = path.join(target, entry.name)
      if (entry.isDirectory()) await walk(s, t)
      else if (entry.isFile()) files.push({source: s, target: t})
      else if (entry.isSymbolicLink()) {
        await fs.symlink(await fs.readlink(s), t)
        links.push({source: s, target: t})
      } else throw new OperationError(`${s} is a special file (socket, FIFO or device); ckpt captures files, folders and symlinks only`)
    }
  }
  await walk(from, to)
  const stats = await mapLimit(files, PARALLEL, async ({source, target}) => {
    const stat = await fs.lstat(source)
    await fs.copyFile(source, target, constants.COPYFILE_FICLONE)
    return stat
  })
  return {
    files: files.length,
    bytes: stats.reduce((sum, s) => sum + s.size, 0),
    async finish() {
      await mapLimit(files, PARALLEL, async ({target}, i) => {
        await keepOwner(target, stats[i])
        await fs.utimes(target, stats[i].atime, stats[i].mtime)
      })
      if (canChown()) for (const link of links) await keepOwner(link.target, await fs.lstat(link.source))
      for (const {target, stat} of dirs.reverse()) {
        await keepOwner(target, stat)
        await fs.chmod(target, stat.mode & 0o7777)
        await fs.utimes(target, stat.atime, stat.mtime)
      }
    },
  }
}

/**
 * Format 2: scans the original (its stamps are what the next take compares) and copies only the
 * files whose stamps differ from the base's record; unchanged files are taken from the base's
 * local copy afterwards, without a pause. Folders are made only where a copied file needs one.
 */
export async function copyChanged(from: string, to: string, hint: CaptureHint): Promise<TreeCopy> {
  const scan = await scanStateV2(from, `state folder ${from}`, hint.linkable ? hint.baseEntries : undefined)
  const copied = new Set<string>()
  const files: EntryV2[] = []
  for (const entry of scan.entries) {
    if (entry.type !== 'file') continue
    const before = hint.linkable ? hint.baseEntries?.get(entry.path) : undefined
    if (before && sameStamps(entry, before)) continue
    copied.add(entry.path)
    files.push(entry)
  }
  await fs.mkdir(to, {recursive: true, mode: 0o700})
  const made = new Map<string, Promise<unknown>>()
  await mapLimit(files, PARALLEL, async (entry) => {
    const parent = path.posix.dirname(entry.path)
    if (parent !== '.') {
      if (!made.has(parent)) made.set(parent, fs.mkdir(path.join(to, ...parent.split('/')), {recursive: true, mode: 0o700}))
      await made.get(parent)
    }
    await cloneFile(path.join(from, ...entry.path.split('/')), path.join(to, ...entry.path.split('/')))
  })
  return {
    files: files.length,
    bytes: files.reduce((sum, e) => sum + e.size, 0),
    scan: {...scan, copied},
    async finish() {
      await mapLimit(files, PARALLEL, async (entry) => {
        const target = path.join(to, ...entry.path.split('/'))
        await giveOwner(target, entry)
        await fs.chmod(target, entry.mode & 0o7777)
        await fs.utimes(target, new Date(entry.mtimeMs), new Date(entry.mtimeMs))
      })
    },
  }
}
