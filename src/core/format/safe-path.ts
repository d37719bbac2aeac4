// Safe extraction (docs/CONTRACT.md promise 7): nothing from a store is written outside the target.
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

/** Links followed at most while resolving one target, as Linux's MAXSYMLINKS. */
const MAX_HOPS = 40

/**
 * Checks a whole list of entries: every path, every type, every link target, and that no entry
 * lies below a symlink (a file "through" a link could land anywhere the link points).
 */
export function checkEntries(entries: EntryLike[], where: string): void {
  const links = new Map<string, string>()
  const seen = new Set<string>()
  for (const entry of entries) {
    checkEntryPath(entry.path, where)
    if (seen.has(entry.path)) throw new UnsafeEntryError(`${where}: path ${JSON.stringify(entry.path)} appears twice`)
    seen.add(entry.path)
    if (entry.type === 'symlink') {
      const target = entry.target
      if (typeof target !== 'string' || target === '') throw new UnsafeEntryError(`${where}: symlink ${entry.path} has no target`)
      if (target.includes('\0')) throw new UnsafeEntryError(`${where}: symlink ${entry.path} has a target with a NUL byte`)
      if (path.posix.isAbsolute(target)) throw new UnsafeEntryError(`${where}: symlink ${entry.path} points to absolute path ${JSON.stringify(target)}, refused`)
      links.set(entry.path, target)
    } else if (entry.type !== 'file' && entry.type !== 'dir') {
      throw new UnsafeEntryError(`${where}: ${entry.path} is a ${JSON.stringify(entry.type)}; only files, folders and symlinks are restored`)
    }
  }
  for (const [link, target] of links) {
    const outcome = resolveLink(link, links)
    if (outcome === 'outside') throw new UnsafeEntryError(`${where}: symlink ${link} points outside the target folder (${JSON.stringify(target)}), refused`)
    if (outcome === 'loop') throw new UnsafeEntryError(`${where}: symlink ${link} (${JSON.stringify(target)}) leads through more than ${MAX_HOPS} links (a loop), refused`)
  }
  // No symlinks, nothing can lie below one: 100,000 paths need not be split.
  if (links.size > 0)
    for (const entry of entries) {
      const parts = entry.path.split('/')
      for (let i = 1; i < parts.length; i++) {
        const ancestor = parts.slice(0, i).join('/')
        if (links.has(ancestor)) throw new UnsafeEntryError(`${where}: ${entry.path} lies below symlink ${ancestor}, refused`)
      }
    }
}

/**
 * Resolves a link as the kernel would once every link of the state is placed: each component that
 * is itself a link of the state is replaced by its target, so `a -> .` makes `a/..` the parent.
 */
export function resolveLink(link: string, links: ReadonlyMap<string, string>): 'inside' | 'outside' | 'loop' {
  const at = link.split('/').slice(0, -1)
  const rest = links.get(link)!.split('/')
  let hops = 0
  while (rest.length > 0) {
    const part = rest.shift()!
    if (part === '' || part === '.') continue
    if (part === '..') {
      if (at.length === 0) return 'outside'
      at.pop()
      continue
    }
    at.push(part)
    const target = links.get(at.join('/'))
    if (target === undefined) continue
    if (++hops > MAX_HOPS) return 'loop'
    if (path.posix.isAbsolute(target)) return 'outside'
    at.pop()
    rest.unshift(...target.split('/'))
  }
  return 'inside'
}
