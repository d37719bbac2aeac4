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
