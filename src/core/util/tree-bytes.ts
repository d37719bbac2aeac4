// Sizes and listings of local folders that may be missing (copies, leftovers).
import * as fs from 'node:fs/promises'
import * as path from 'node:path'

/** A folder's names, sorted; none when it is missing or unreadable. */
export async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).sort()
  } catch {
    // missing or unreadable: nothing to list, as the doc comment says
    return []
  }
}

/** Bytes of the regular files in a tree (or of one file); links are not followed. */
export async function treeBytes(dir: string): Promise<number> {
  // a missing folder holds no bytes
  const st = await fs.lstat(dir).catch(() => undefined)
  if (!st) return 0
  if (!st.isDirectory()) return st.isFile() ? st.size : 0
  let total = 0
  for (const name of await readdirOrEmpty(dir)) total += await treeBytes(path.join(dir, name))
  return total
}

/** Bytes on disk of the regular files in trees, each inode counted once (hard links share one), as du does. */
export async function uniqueBytes(dirs: readonly string[]): Promise<number> {
  const seen = new Set<string>()
  const walk = async (at: string): Promise<number> => {
    // gone meanwhile: it holds no bytes
    const st = await fs.lstat(at, {bigint: true}).catch(() => undefined)
    if (!st) return 0
    if (st.isFile()) {
      const id = `${st.dev}:${st.ino}`
      if (seen.has(id)) return 0
      seen.add(id)
      return Number(st.size)
    }
    if (!st.isDirectory()) return 0
    let total = 0
    for (const name of await readdirOrEmpty(at)) total += await walk(path.join(at, name))
    return total
  }
  let total = 0
  for (const dir of dirs) total += await walk(dir)
  return total
}
