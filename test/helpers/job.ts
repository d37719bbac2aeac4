// Job folders, state trees and their fingerprints for tests.
import {createHash, randomBytes} from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'

export interface TestTask {
  id: string
  stateDir?: string
  command?: string | string[]
  snapshot?: {command: string | string[]; timeout?: string}
  env?: Record<string, string>
}

/** Job-file fields of a job whose takes write format 1 (one tar per task): for tests of format 1's own objects. */
export const FORMAT_1 = {checkpoint: {format: 1}} as const

/** Writes dir/ckpt.json for a job and returns its path. */
export async function writeJob(dir: string, options: {job?: string; tasks: TestTask[]; primary?: string; localRoots?: string[]; extra?: Record<string, unknown>}): Promise<string> {
  const doc: Record<string, unknown> = {
    job: options.job ?? 'testjob',
    ...(options.primary ? {primary: options.primary} : {}),
    ...(options.localRoots ? {localRoots: options.localRoots} : {}),
    ...options.extra,
    tasks: options.tasks.map((t) => ({...t, stateDir: t.stateDir ?? `state/${t.id}`})),
  }
  const file = path.join(dir, 'ckpt.json')
  await fs.writeFile(file, JSON.stringify(doc, null, 2))
  for (const t of options.tasks) await fs.mkdir(path.join(dir, t.stateDir ?? `state/${t.id}`), {recursive: true})
  return file
}

/** A tree with nested folders, an empty file, an empty folder, odd modes, a symlink and (optionally) a big file. */
export async function makeTree(root: string, options: {bigBytes?: number; seed?: string} = {}): Promise<void> {
  const seed = options.seed ?? 'a'
  await fs.mkdir(path.join(root, 'nested', 'deeper', 'deepest'), {recursive: true})
  await fs.mkdir(path.join(root, 'empty-folder'), {recursive: true})
  await fs.writeFile(path.join(root, 'top.txt'), `top ${seed}\n`)
  await fs.writeFile(path.join(root, 'empty-file'), '')
  await fs.writeFile(path.join(root, 'nested', 'a.bin'), randomBytes(70_000))
  await fs.writeFile(path.join(root, 'nested', 'deeper', 'b.txt'), `b ${seed}\n`.repeat(1000))
  await fs.writeFile(path.join(root, 'nested', 'deeper', 'deepest', 'script.sh'), '#!/bin/sh\necho hi\n')
  await fs.chmod(path.join(root, 'nested', 'deeper', 'deepest', 'script.sh'), 0o750)
  await fs.writeFile(path.join(root, 'nested', 'secret.key'), 'k')
  await fs.chmod(path.join(root, 'nested', 'secret.key'), 0o600)
  await fs.writeFile(path.join(root, 'nested', `long-${'n'.repeat(120)}.txt`), 'long name')
  await fs.writeFile(path.join(root, 'nested', 'ünïcode name.txt'), 'unicode')
  await fs.symlink('nested/deeper/b.txt', path.join(root, 'link-to-b'))
  if (options.bigBytes) {
    const handle = await fs.open(path.join(root, 'big.bin'), 'w')
    const block = randomBytes(1 << 20)
    for (let written = 0; written < options.bigBytes; written += block.length) {
      block[0] = written & 0xff
      await handle.write(block, 0, Math.min(block.length, options.bigBytes - written))
    }
    await handle.close()
  }
}

export interface Fingerprint {
  type: 'file' | 'dir' | 'symlink'
  mode: number
  size: number
  sha256?: string
  target?: string
}

/** Every entry below root with type, mode, size and content digest. */
export async function fingerprint(root: string): Promise<Record<string, Fingerprint>> {
  const out: Record<string, Fingerprint> = {}
  const walk = async (dir: string, rel: string) => {
    for (const name of (await fs.readdir(dir)).sort()) {
      const abs = path.join(dir, name)
      const r = rel ? `${rel}/${name}` : name
      const st = await fs.lstat(abs)
      const mode = st.mode & 0o7777
      if (st.isDirectory()) {
        out[r] = {type: 'dir', mode, size: 0}
        await walk(abs, r)
      } else if (st.isSymbolicLink()) {
        out[r] = {type: 'symlink', mode: 0, size: 0, target: await fs.readlink(abs)}
      } else {
        out[r] = {
          type: 'file',
          mode,
          size: st.size,
          sha256: createHash('sha256')
            .update(await fs.readFile(abs))
            .digest('hex'),
        }
      }
    }
  }
  await walk(root, '')
  return out
}

export async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  )
}

/** Paths of every file below dir (relative), for finding store objects and copies. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (d: string, rel: string) => {
    let names: string[] = []
    try {
      names = await fs.readdir(d)
    } catch {
      return
    }
    for (const name of names) {
      const st = await fs.lstat(path.join(d, name))
      const r = rel ? `${rel}/${name}` : name
      if (st.isDirectory()) await walk(path.join(d, name), r)
      else out.push(r)
    }
  }
  await walk(dir, '')
  return out.sort()
}
