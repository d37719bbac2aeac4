// Safe extraction (DESIGN.md invariant 7): nothing from a store is written outside the target.
import * as path from 'node:path'
import {UnsafeEntryError} from '../errors.js'

export type EntryType = 'file' | 'dir' | 'symlink'

export interface EntryLike {
  path: string
  type: string
  target?: string
}

/** Throws UnsafeEntryError unless `rel` is a plain relative path that stays inside its root. */
export function checkEntryPath(rel: string, where: string): void {
  if (typeof rel !== 'string' || rel === '') throw new UnsafeEntryError(`${where}: empty path refused`)
  if (rel.includes('\0')) throw new UnsafeEntryError(`${where}: path with a NUL byte refused`)
  if (rel.startsWith('/') || /^[A-Za-z]:[\\/]/.test(rel)) throw new UnsafeEntryError(`${where}: absolute path ${JSON.stringify(rel)} refused`)
  const parts = rel.split('/')
  if (parts.some((p) => p === '..')) throw new UnsafeEntryError(`${where}: path ${JSON.stringify(rel)} leaves the target folder ('..') and is refused`)
  if (parts.some((p) => p === '' || p === '.')) throw new UnsafeEntryError(`${where}: path ${JSON.stringify(rel)} is not in normal form and is refused`)
}

/**
 * Checks a whole list of entries: every path, every type, every link target, and that no entry
 * lies below a symlink (a file "through" a link could land anywhere the link points).
 */
export function checkEntries(entries: EntryLike[], where: string): void {
  const links = new Set<string>()
  const seen = new Set<string>()
  for (const entry of entries) {
    checkEntryPath(entry.path, where)
    if (seen.has(entry.path)) throw new UnsafeEntryError(`${where}: path ${JSON.stringify(entry.path)} appears twice`)
    seen.add(entry.path)
    if (entry.type === 'symlink') {
      links.add(entry.path)
      const target = entry.target
      if (typeof target !== 'string' || target === '') throw new UnsafeEntryError(`${where}: symlink ${entry.path} has no target`)
      if (path.posix.isAbsolute(target)) throw new UnsafeEntryError(`${where}: symlink ${entry.path} points to absolute path ${JSON.stringify(target)}, refused`)
      const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(entry.path), target))
      if (resolved === '..' || resolved.startsWith('../')) throw new UnsafeEntryError(`${where}: symlink ${entry.path} points outside the target folder (${JSON.stringify(target)}), refused`)
    } else if (entry.type !== 'file' && entry.type !== 'dir') {
      throw new UnsafeEntryError(`${where}: ${entry.path} is a ${JSON.stringify(entry.type)}; only files, folders and symlinks are restored`)
    }
  }
  for (const entry of entries) {
    const parts = entry.path.split('/')
    for (let i = 1; i < parts.length; i++) {
      const ancestor = parts.slice(0, i).join('/')
      if (links.has(ancestor)) throw new UnsafeEntryError(`${where}: ${entry.path} lies below symlink ${ancestor}, refused`)
    }
  }
}
