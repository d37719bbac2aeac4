// A fast local copy of a state folder, made while its task is paused: folders and symlinks as
// they are, files in parallel (reflinks where the file system has them). Times and modes are
// put back afterwards by the returned finish(), which needs no pause, and so are owners.
import {constants, type Stats} from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {OperationError} from '../errors.js'
import {mapLimit} from '../util/pool.js'
import {canChown, keepOwner} from '../archive/owners.js'

export interface TreeCopy {
  files: number
  bytes: number
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
