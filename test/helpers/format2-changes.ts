// Seeded random state for format-2 tests: a PRNG, seeded bytes, a starting state folder and a
// generator of the changes a stateful task makes (rewrites, appends, regions rewritten in place,
// deletions, renames, chmod, new empty files and folders, symlinks, a file that becomes a folder).
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {KiB, MiB, treeDigest} from './format2-e2e.js'

export interface Rng {
  /** A float in [0, 1). */
  next(): number
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number
  pick<T>(items: readonly T[]): T
  /** n pseudo-random bytes from this generator's sequence. */
  bytes(n: number): Buffer
}

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function seeded(seed: number): Rng {
  let a = seed >>> 0
  const u32 = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
  const rng: Rng = {
    next: () => u32() / 2 ** 32,
    int: (lo, hi) => lo + Math.floor(rng.next() * (hi - lo + 1)),
    pick: (items) => items[Math.floor(rng.next() * items.length)],
    bytes(n) {
      // xorshift32 seeded from the main sequence: fast enough for MiBs.
      const words = new Uint32Array(Math.ceil(n / 4))
      let x = u32() | 1
      for (let i = 0; i < words.length; i++) {
        x ^= x << 13
        x ^= x >>> 17
        x ^= x << 5
        words[i] = x >>> 0
      }
      return Buffer.from(words.buffer, 0, n)
    },
  }
  return rng
}

export const BIG_FILE = 'db/big.db'

/** A starting state: a big file of `bigBytes`, small files in folders, an empty file and folder, a symlink. */
export async function seedState(root: string, rng: Rng, options: {bigBytes?: number; smallFiles?: number} = {}): Promise<void> {
  for (const dir of ['db', 'conf', 'data/part-1', 'spool']) await fs.mkdir(path.join(root, dir), {recursive: true})
  await fs.writeFile(path.join(root, BIG_FILE), rng.bytes(options.bigBytes ?? 5 * MiB))
  await fs.writeFile(path.join(root, 'db/wal.log'), rng.bytes(100 * KiB))
  await fs.writeFile(path.join(root, 'conf/app.conf'), 'threads = 4\n')
  await fs.chmod(path.join(root, 'conf/app.conf'), 0o640)
  for (let i = 0; i < (options.smallFiles ?? 6); i++) await fs.writeFile(path.join(root, `data/part-1/f${i}.bin`), rng.bytes(rng.int(1, 300 * KiB)))
  await fs.writeFile(path.join(root, 'data/empty'), '')
  // A sparse file: holes around 100 KiB of data (copies keep holes).
  const sparse = await fs.open(path.join(root, 'db/sparse.bin'), 'w')
  await sparse.truncate(3 * MiB)
  await sparse.write(rng.bytes(100 * KiB), 0, 100 * KiB, MiB + 12_345)
  await sparse.close()
  // Equal chunks within one file (zeros), and sizes at a chunk's edge (chunks are 1 MiB).
  await fs.writeFile(path.join(root, 'db/zeros.bin'), Buffer.alloc(2 * MiB + 5))
  await fs.writeFile(path.join(root, 'data/chunk.bin'), rng.bytes(MiB))
  await fs.writeFile(path.join(root, 'data/chunk-plus-1.bin'), rng.bytes(MiB + 1))
  await fs.symlink(BIG_FILE, path.join(root, 'current'))
}

type Op = 'rewrite' | 'append' | 'region' | 'delete' | 'rename' | 'chmod' | 'emptyFile' | 'emptyDir' | 'newFile' | 'symlink' | 'deleteDir' | 'fileToDir'
const OPS: Op[] = ['rewrite', 'rewrite', 'append', 'region', 'region', 'delete', 'rename', 'chmod', 'emptyFile', 'emptyDir', 'newFile', 'symlink', 'deleteDir', 'fileToDir']
const FILE_MODES = [0o600, 0o640, 0o644, 0o700, 0o755]
const DIR_MODES = [0o700, 0o750, 0o755]

/** Applies `count` random changes to the state below root; says what it did, one line each. */
export async function randomChanges(root: string, rng: Rng, round: number, count: number): Promise<string[]> {
  const done: string[] = []
  for (let k = 0; k < count; k++) {
    const tree = await treeDigest(root)
    const files = Object.keys(tree).filter((p) => tree[p].type === 'file')
    const small = files.filter((p) => p !== BIG_FILE)
    const dirs = Object.keys(tree).filter((p) => tree[p].type === 'dir')
    const fresh = `r${round}-${k}`
    const inDir = (name: string) => (dirs.length > 0 && rng.next() < 0.8 ? `${rng.pick(dirs)}/${name}` : name)
    const at = (p: string) => path.join(root, p)
    const op = rng.pick(OPS)
    if (op === 'rewrite' && small.length > 0) {
      const p = rng.pick(small)
      await fs.writeFile(at(p), rng.bytes(rng.int(0, 300 * KiB)))
      done.push(`rewrite ${p}`)
    } else if (op === 'append' && files.length > 0) {
      const p = rng.pick(files)
      await fs.appendFile(at(p), rng.bytes(rng.int(1, 100 * KiB)))
      done.push(`append ${p}`)
    } else if (op === 'region' && files.includes(BIG_FILE)) {
      const size = tree[BIG_FILE].size
      const length = Math.min(size, rng.int(4 * KiB, 2 * MiB))
      const offset = rng.int(0, size - length)
      const handle = await fs.open(at(BIG_FILE), 'r+')
      await handle.write(rng.bytes(length), 0, length, offset)
      await handle.close()
      done.push(`region ${BIG_FILE} ${offset}+${length}`)
    } else if (op === 'delete' && small.length > 3) {
      const p = rng.pick(small)
      await fs.rm(at(p))
      done.push(`delete ${p}`)
    } else if (op === 'rename' && small.length > 0) {
      const p = rng.pick(small)
      const to = inDir(`${fresh}-renamed`)
      await fs.rename(at(p), at(to))
      done.push(`rename ${p} ${to}`)
    } else if (op === 'chmod') {
      const p = rng.pick([...files, ...dirs])
      const mode = rng.pick(tree[p].type === 'dir' ? DIR_MODES : FILE_MODES)
      await fs.chmod(at(p), mode)
      done.push(`chmod ${p} ${mode.toString(8)}`)
    } else if (op === 'emptyFile') {
      const p = inDir(`${fresh}-empty`)
      await fs.writeFile(at(p), '')
      done.push(`empty file ${p}`)
    } else if (op === 'emptyDir') {
      const p = inDir(`${fresh}-dir`)
      await fs.mkdir(at(p))
      done.push(`empty folder ${p}`)
    } else if (op === 'symlink') {
      const p = inDir(`${fresh}-link`)
      const targetPath = rng.pick([...files, 'missing-target'])
      await fs.symlink(path.relative(path.dirname(at(p)), at(targetPath)), at(p))
      done.push(`symlink ${p}`)
    } else if (op === 'deleteDir' && dirs.length > 3) {
      const p = rng.pick(dirs.filter((d) => !BIG_FILE.startsWith(`${d}/`)))
      if (p) {
        await fs.rm(at(p), {recursive: true})
        done.push(`delete folder ${p}`)
      }
    } else if (op === 'fileToDir' && small.length > 3) {
      // The same path changes type: a file becomes a folder holding a file.
      const p = rng.pick(small)
      await fs.rm(at(p))
      await fs.mkdir(at(p))
      await fs.writeFile(at(`${p}/inner`), rng.bytes(rng.int(1, 50 * KiB)))
      done.push(`file to folder ${p}`)
    } else {
      const p = inDir(`${fresh}-new`)
      await fs.writeFile(at(p), rng.bytes(rng.int(1, 200 * KiB)))
      done.push(`new file ${p}`)
    }
  }
  return done
}
