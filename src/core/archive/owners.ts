// Owners and the state folder's own metadata: recorded by a take, given back by a restore.
// Only root can give a file to another user; a restore run by anyone else leaves every file to
// that user (as tar and restic do). Ids are numeric, as with `tar --numeric-owner`.
import {chownSync, lchownSync, readdirSync, statSync, type Stats} from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import type {FileEntry, StateRoot, TaskIndex} from '../format/manifest.js'

/** The mode a state folder gets when its checkpoint has no record of it (as before it was recorded). */
const DEFAULT_ROOT_MODE = 0o755

export function canChown(): boolean {
  return process.geteuid?.() === 0
}

/** The state folder's mode, time and owner (a stateDir that is a symlink is followed). */
export async function scanStateRoot(dir: string): Promise<StateRoot> {
  const st = await fs.stat(dir)
  return {mode: st.mode & 0o7777, mtimeMs: Math.floor(st.mtimeMs), uid: st.uid, gid: st.gid}
}

const isId = (id: unknown): id is number => Number.isInteger(id) && (id as number) >= 0

/** Gives a path its recorded owner; call before chmod, since chown clears set-id bits. */
export async function giveOwner(target: string, owner: {uid?: number; gid?: number}): Promise<void> {
  if (!canChown() || !isId(owner.uid) || !isId(owner.gid)) return
  await fs.lchown(target, owner.uid, owner.gid)
}

/** giveOwner on this thread: a metadata write of microseconds, where the thread pool's round trip costs more. */
export function giveOwnerSync(target: string, owner: {uid?: number; gid?: number}): void {
  if (!canChown() || !isId(owner.uid) || !isId(owner.gid)) return
  lchownSync(target, owner.uid, owner.gid)
}

/** As giveOwner, through an open file. */
export async function giveHandleOwner(handle: fs.FileHandle, owner: {uid?: number; gid?: number}): Promise<void> {
  if (!canChown() || !isId(owner.uid) || !isId(owner.gid)) return
  await handle.chown(owner.uid, owner.gid)
}

/** Gives a copy the owner of what it copies (a scratch copy is read as the original), keeping set-id bits. */
export async function keepOwner(target: string, source: Stats): Promise<void> {
  if (!canChown()) return
  await fs.lchown(target, source.uid, source.gid)
  if (!source.isSymbolicLink() && source.mode & 0o6000) await fs.chmod(target, source.mode & 0o7777)
}

/** The state folder's owner, mode and time; a checkpoint without the record gets mode 0755 as before. */
export async function applyStateRoot(dir: string, root: StateRoot | undefined): Promise<void> {
  if (!root) return fs.chmod(dir, DEFAULT_ROOT_MODE)
  await giveOwner(dir, root)
  await fs.chmod(dir, root.mode & 0o7777)
  await fs.utimes(dir, new Date(root.mtimeMs), new Date(root.mtimeMs))
}

/** Finishes a staged or copied state: symlink owners (files and folders get theirs as they are written), then the folder itself. */
export async function finishStateRoot(dir: string, entries: FileEntry[], root: StateRoot | undefined): Promise<void> {
  if (canChown()) {
    for (const entry of entries) if (entry.type === 'symlink') await giveOwner(path.join(dir, ...entry.path.split('/')), entry)
  }
  await applyStateRoot(dir, root)
}

/** A task that runs as another user gets its stateDir when ckpt made it (empty and not that user's). */
export function giveEmptyStateDir(dir: string, user: {uid: number; gid: number}): void {
  const st = statSync(dir)
  if (st.uid !== user.uid && readdirSync(dir).length === 0) chownSync(dir, user.uid, user.gid)
}

/** Owners a checkpoint did not record (it was written before they were) default to the task's user, if it has one. */
export function withTaskOwner(index: TaskIndex, user: {uid: number; gid: number} | undefined): {entries: FileEntry[]; root?: StateRoot} {
  if (!user) return {entries: index.entries, root: index.root}
  for (const entry of index.entries) if (entry.uid === undefined) Object.assign(entry, {uid: user.uid, gid: user.gid})
  return {entries: index.entries, root: index.root ?? {mode: DEFAULT_ROOT_MODE, mtimeMs: Date.now(), uid: user.uid, gid: user.gid}}
}
