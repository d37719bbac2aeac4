// Data sets the bench makes for itself: incompressible, deterministic bytes (AES-CTR keystream),
// so compression and deduplication in a peer get no free wins and every run sees the same tree.
import {createCipheriv, createHash} from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'

const CHUNK = 8 << 20
const PER_DIR = 100

export interface TreeSpec {
  files: number
  bytes: number
  seed: string
}

export interface TreeInfo extends TreeSpec {
  dir: string
  dirs: number
}

function keystream(seed: string, index: number) {
  const key = createHash('sha256').update(`${seed}/${index}`).digest()
  return createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32))
}

/** Writes `size` pseudo-random bytes to file. */
export async function writeRandomFile(file: string, size: number, seed: string, index = 0): Promise<void> {
  const cipher = keystream(seed, index)
  const handle = await fs.open(file, 'w')
  try {
    const zeros = Buffer.alloc(Math.min(CHUNK, Math.max(size, 1)))
    for (let done = 0; done < size;) {
      const n = Math.min(zeros.length, size - done)
      const chunk = cipher.update(zeros.subarray(0, n))
      let off = 0
      while (off < chunk.length) off += (await handle.write(chunk, off, chunk.length - off)).bytesWritten
      done += n
    }
  } finally {
    await handle.close()
  }
}

export function relPathOf(i: number): string {
  return `d${String(Math.floor(i / PER_DIR)).padStart(4, '0')}/f${String(i).padStart(6, '0')}.bin`
}

/** A tree of `files` files (100 per folder) adding up to exactly `bytes`. */
export async function makeTree(dir: string, spec: TreeSpec): Promise<TreeInfo> {
  await fs.rm(dir, {recursive: true, force: true})
  await fs.mkdir(dir, {recursive: true})
  const each = Math.floor(spec.bytes / spec.files)
  const extra = spec.bytes - each * spec.files
  const dirs = Math.ceil(spec.files / PER_DIR)
  for (let d = 0; d < dirs; d++) await fs.mkdir(path.join(dir, path.dirname(relPathOf(d * PER_DIR))), {recursive: true})
  // Small files: several in flight at once; big ones: one at a time (they stream).
  const parallel = each < 1 << 20 ? 16 : 2
  let next = 0
  const worker = async () => {
    while (next < spec.files) {
      const i = next++
      await writeRandomFile(path.join(dir, relPathOf(i)), each + (i === 0 ? extra : 0), spec.seed, i)
    }
  }
  await Promise.all(Array.from({length: Math.min(parallel, spec.files)}, worker))
  return {...spec, dir, dirs}
}

/** What a change to a data set wrote: the files touched and the bytes rewritten. */
export interface Change {
  files: string[]
  bytes: number
}

/**
 * Rewrites `count` files of a tree in place with new random bytes of the same size (same inode,
 * new mtime and ctime): round r takes files r, r + step, r + 2·step … so rounds touch different files.
 */
export async function rewriteFiles(tree: TreeInfo, count: number, round: number): Promise<Change> {
  const change: Change = {files: [], bytes: 0}
  for (const [j, file] of pickFiles(tree, count, round).entries()) {
    const {size} = await fs.stat(file)
    await writeRandomFile(file, size, `${tree.seed}-round-${round}`, j)
    change.files.push(file)
    change.bytes += size
  }
  return change
}

/** The files rewriteFiles rewrites in round `round`. */
export function pickFiles(tree: TreeInfo, count: number, round: number): string[] {
  const step = Math.max(1, Math.floor(tree.files / count))
  return Array.from({length: Math.min(count, tree.files)}, (_, j) => path.join(tree.dir, relPathOf((j * step + (round % step)) % tree.files)))
}

/**
 * Rewrites `count` regions of `regionSize` bytes inside one file, in place (no truncation), at
 * 4 KiB-aligned offsets spread over the file: a database's pages, not aligned to ckpt's chunks.
 */
export async function rewriteRegions(file: string, count: number, regionSize: number, round: number): Promise<Change> {
  const {size} = await fs.stat(file)
  const segment = Math.floor(size / count)
  if (segment < regionSize + 4096) throw new Error(`${file}: ${size} bytes cannot hold ${count} regions of ${regionSize} bytes`)
  const handle = await fs.open(file, 'r+')
  try {
    for (let k = 0; k < count; k++) {
      // A deterministic spot inside the k-th segment, different every round.
      const jitter = createHash('sha256').update(`${round}/${k}`).digest().readUInt32BE(0) % (segment - regionSize - 4096 + 1)
      const offset = Math.floor((k * segment + jitter) / 4096) * 4096
      const bytes = keystream(`${file}-round-${round}`, k).update(Buffer.alloc(regionSize))
      for (let done = 0; done < bytes.length;) done += (await handle.write(bytes, done, bytes.length - done, offset + done)).bytesWritten
    }
  } finally {
    await handle.close()
  }
  return {files: [file], bytes: count * regionSize}
}

/** SHA-256 of each file, to check later that a restore put the same bytes back. */
export async function fileDigests(files: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for (const f of files)
    out.set(
      f,
      createHash('sha256')
        .update(await fs.readFile(f))
        .digest('hex'),
    )
  return out
}
