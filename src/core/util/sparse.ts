// Holes: Node has no SEEK_DATA/SEEK_HOLE, so a sparse file is kept sparse by not writing its
// aligned all-zero blocks into a fresh file and setting the size at the end (ftruncate).
import {constants as fsConstants} from 'node:fs'
import * as fs from 'node:fs/promises'
import {writeAll} from './write-all.js'

/** The unit of a hole: the usual file-system block. */
export const HOLE_BLOCK = 4096
const ZERO = Buffer.alloc(HOLE_BLOCK)
const COPY_SIZE = 1 << 20

export interface Run {
  data: Buffer
  position: number
}

/**
 * The parts of `data` (bound for file offset `position` of a new file) that must be written: its
 * all-zero blocks are left out, and so are all-zero pieces of blocks at its ends (the next write
 * may fill the rest of such a block, and a hole reads as zeros anyway). Undefined when nothing is
 * left out (the common case, no allocation).
 */
export function dataRuns(data: Buffer, position: number): Run[] | undefined {
  let runs: Run[] | undefined
  let start = 0
  for (let i = 0; i < data.length;) {
    const end = Math.min(data.length, i + HOLE_BLOCK - ((position + i) % HOLE_BLOCK))
    // Data nearly always has a non-zero first or last byte: the full compare runs for zero blocks only.
    if (data[i] === 0 && data[end - 1] === 0 && data.subarray(i, end).equals(ZERO.subarray(0, end - i))) {
      runs ??= []
      if (i > start) runs.push({data: data.subarray(start, i), position: position + start})
      start = end
    }
    i = end
  }
  if (runs && start < data.length) runs.push({data: data.subarray(start), position: position + start})
  return runs
}

/** dataRuns over consecutive parts starting at `position`; undefined when no part holds a zero block. */
export function dataRunsOf(parts: readonly Buffer[], position: number): Run[] | undefined {
  let runs: Run[] | undefined
  let at = position
  for (const [i, part] of parts.entries()) {
    const own = dataRuns(part, at)
    if (own && !runs) {
      runs = []
      for (let j = 0, p = position; j < i; p += parts[j++].length) runs.push({data: parts[j], position: p})
    }
    if (runs) runs.push(...(own ?? [{data: part, position: at}]))
    at += part.length
  }
  return runs
}

/** True when the file takes less room on disk than its size: it has holes (or is compressed). */
export function hasHoles(st: {blocks: number; size: number}): boolean {
  return st.blocks * 512 < st.size
}

/** Copies a file into a new file `target`, leaving its zero blocks as holes. */
export async function copySparse(source: string, target: string, mode = 0o600): Promise<void> {
  const input = await fs.open(source, 'r')
  try {
    const output = await fs.open(target, 'wx', mode)
    try {
      const buffer = Buffer.allocUnsafe(COPY_SIZE)
      let position = 0
      for (;;) {
        const {bytesRead} = await input.read(buffer, 0, buffer.length, position)
        if (bytesRead === 0) break
        const chunk = buffer.subarray(0, bytesRead)
        for (const run of dataRuns(chunk, position) ?? [{data: chunk, position}]) await writeAll(output, run.data, run.position)
        position += bytesRead
      }
      await output.truncate(position)
    } finally {
      await output.close()
    }
  } finally {
    await input.close()
  }
}

/**
 * Copies a file into a new file: a reflink where the file system has them, else an in-kernel copy
 * (copy_file_range, which writes a hole out as zeros), or for a file with holes a copy that keeps them.
 */
export async function cloneFile(source: string, target: string): Promise<void> {
  if (hasHoles(await fs.stat(source))) return copySparse(source, target)
  await fs.copyFile(source, target, fsConstants.COPYFILE_FICLONE | fsConstants.COPYFILE_EXCL)
}
