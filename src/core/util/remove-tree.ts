// Removes a folder tree with a bounded number of file-system calls in flight. fs.rm({recursive})
// starts a call for every entry of the tree at once: removing a copy of 100,000 files that way
// held about 120 MB more RSS than this does, and made a take or restore peak there.
import {unlinkSync, type Dirent, type Stats} from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'

const PARALLEL = 32

interface Folder {
  path: string
  parent: Folder | undefined
  /** Children not yet removed, plus one until the folder has been listed. */
  left: number
}

type Work = {folder: Folder} | {files: string[]; parent: Folder}

/**
 * A folder's files are unlinked a batch at a time with synchronous calls (a few ms of the event
 * loop each): a promise per file for 100,000 files grew the heap by about 70 MB.
 */
const FILE_BATCH = 64

/**
 * Removes a tree (or a file) even where a read-only folder inside it would stop an unlink; a missing
 * one is fine. Never follows a link: a link (the root too) is unlinked, never descended.
 */
export async function removeTree(dir: string): Promise<void> {
  const root = await lstatOrUndefined(dir)
  if (!root) return
  if (!root.isDirectory()) return ignoreMissing(fs.unlink(dir))
  try {
    await removeAll(dir)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'EACCES' && code !== 'EPERM') throw error
    await makeWritable(dir)
    await removeAll(dir)
  }
}

/** Depth first (a stack), so the work waiting stays near one folder's entries per level. */
async function removeAll(root: string): Promise<void> {
  const stack: Work[] = [{folder: {path: root, parent: undefined, left: 1}}]
  let failure: {error: unknown} | undefined
  let running = 0

  const removed = async (folder: Folder | undefined): Promise<void> => {
    for (let f = folder; f && --f.left === 0; f = f.parent) await ignoreMissing(fs.rmdir(f.path))
  }
  const run = async (work: Work): Promise<void> => {
    if ('files' in work) {
      for (const file of work.files) unlinkIfThere(file)
      return removed(work.parent)
    }
    const {folder} = work
    // A folder swapped for a link since it was listed is unlinked, not read through.
    const st = await lstatOrUndefined(folder.path)
    if (!st) return removed(folder.parent)
    if (!st.isDirectory()) {
      await ignoreMissing(fs.unlink(folder.path))
      return removed(folder.parent)
    }
    let names: Dirent[]
    try {
      names = await fs.readdir(folder.path, {withFileTypes: true})
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return removed(folder.parent)
      throw error
    }
    stack.push(...workOf(folder, names))
    return removed(folder)
  }

  await new Promise<void>((resolve) => {
    const pump = () => {
      while (!failure && running < PARALLEL && stack.length > 0) {
        running++
        run(stack.pop()!)
          .catch((error: unknown) => void (failure ??= {error}))
          .finally(() => {
            running--
            pump()
          })
      }
      if (running === 0 && (failure || stack.length === 0)) resolve()
    }
    pump()
  })
  if (failure) throw failure.error
}

function unlinkIfThere(file: string): void {
  try {
    unlinkSync(file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
}

/** A listed folder's work: each subfolder, and its files in batches; each counts once in the folder's `left`. */
function workOf(folder: Folder, names: Dirent[]): Work[] {
  const work: Work[] = []
  let files: string[] = []
  for (const entry of names) {
    const child = path.join(folder.path, entry.name)
    if (entry.isDirectory()) work.push({folder: {path: child, parent: folder, left: 1}})
    else if (files.push(child) === FILE_BATCH) {
      work.push({files, parent: folder})
      files = []
    }
  }
  if (files.length > 0) work.push({files, parent: folder})
  folder.left += work.length
  return work
}

async function ignoreMissing(call: Promise<void>): Promise<void> {
  try {
    await call
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
}

/** lstat, or undefined for a path that is not there (also below a file). */
export async function lstatOrUndefined(file: string): Promise<Stats | undefined> {
  try {
    return await fs.lstat(file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined
    throw error
  }
}

async function makeWritable(dir: string): Promise<void> {
  // chmod follows links: only a real folder is made writable.
  if (!(await lstatOrUndefined(dir).catch(() => undefined))?.isDirectory()) return
  // best effort: if the folder stays read-only, the removal below reports it
  await fs.chmod(dir, 0o700).catch(() => {})
  let names: Dirent[]
  try {
    names = await fs.readdir(dir, {withFileTypes: true})
  } catch {
    // gone or unreadable: the rm that follows reports what it cannot remove
    return
  }
  for (const entry of names) if (entry.isDirectory()) await makeWritable(path.join(dir, entry.name))
}
