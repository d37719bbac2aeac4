// Lists a state folder: files, folders and symlinks, in a stable order.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {OperationError} from '../errors.js'
import type {FileEntry} from '../checkpoint/manifest.js'
import {giveOwner} from './owners.js'

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

export async function scanTree(root: string, what: string): Promise<FileEntry[]> {
  let rootStat
  try {
    rootStat = await fs.stat(root)
  } catch (error) {
    throw new OperationError(`${what}: ${root} cannot be read (${(error as NodeJS.ErrnoException).code})`, {cause: error})
  }
  if (!rootStat.isDirectory()) throw new OperationError(`${what}: ${root} is not a folder`)
  const entries: FileEntry[] = []
  const walk = async (dir: string, rel: string): Promise<void> => {
    const names = (await fs.readdir(dir)).sort()
    for (const name of names) {
      const abs = path.join(dir, name)
      const relPath = rel === '' ? name : `${rel}/${name}`
      const st = await fs.lstat(abs)
      const mode = st.mode & 0o7777
      const mtimeMs = Math.floor(st.mtimeMs)
      const {uid, gid} = st
      // Literals, not a spread: V8 gave each spread-made entry a hidden class of its own (~250 bytes).
      // A file's sha256 and offset exist from the start so filling them in keeps one shape.
      if (st.isDirectory()) {
        entries.push({path: relPath, mode, mtimeMs, type: 'dir', size: 0, uid, gid})
        await walk(abs, relPath)
      } else if (st.isFile()) {
        entries.push({path: relPath, mode, mtimeMs, type: 'file', size: st.size, sha256: undefined, offset: undefined, uid, gid})
      } else if (st.isSymbolicLink()) {
        entries.push({path: relPath, mode, mtimeMs, type: 'symlink', size: 0, target: await fs.readlink(abs), uid, gid})
      } else {
        throw new OperationError(`${what}: ${abs} is a special file (socket, FIFO or device); ckpt captures files, folders and symlinks only — move it out of the state folder`)
      }
    }
  }
  try {
    await walk(root, '')
  } catch (error) {
    if (error instanceof OperationError) throw error
    throw new OperationError(`${what}: cannot read ${root} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, {cause: error})
  }
  return entries
}
