// A state folder as a restore must give it back: per entry its type, mode, owner, mtime (whole ms,
// after 1 µs is added: utimes goes through a double of seconds, so a restored time may lie a few ns
// below the recorded one, and folders are restored to the ms), size,
// content digest and link target, and the folder's own metadata; for byte-exact comparisons.
import {createHash} from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'

export interface TreeEntry {
  path: string
  type: 'file' | 'dir' | 'symlink'
  mode: number
  uid: number
  gid: number
  mtimeMs: number
  size?: number
  sha256?: string
  target?: string
}

export async function describeState(root: string): Promise<{root: Omit<TreeEntry, 'path' | 'type'>; entries: TreeEntry[]}> {
  const entries: TreeEntry[] = []
  const meta = async (abs: string) => {
    const st = await fs.lstat(abs)
    return {mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtimeMs: Math.floor(st.mtimeMs + 0.001)}
  }
  const walk = async (dir: string, rel: string) => {
    for (const name of (await fs.readdir(dir)).sort()) {
      const abs = path.join(dir, name)
      const r = rel ? `${rel}/${name}` : name
      const st = await fs.lstat(abs)
      if (st.isDirectory()) {
        entries.push({path: r, type: 'dir', ...(await meta(abs))})
        await walk(abs, r)
      } else if (st.isSymbolicLink()) {
        // a symlink's own mode and time are not restored (Linux has no lchmod)
        entries.push({path: r, type: 'symlink', ...(await meta(abs)), mode: 0, mtimeMs: 0, target: await fs.readlink(abs)})
      } else {
        const sha256 = createHash('sha256')
          .update(await fs.readFile(abs))
          .digest('hex')
        entries.push({path: r, type: 'file', ...(await meta(abs)), size: st.size, sha256})
      }
    }
  }
  await walk(root, '')
  return {root: await meta(root), entries}
}
