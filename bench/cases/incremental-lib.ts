// What the format-2 cases share: their job files, restic with a repository of its own, du, what a
// take uploaded, and the peak-memory target of every ckpt command.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import type {Change} from '../lib/data.js'
import {runCommand, type RunResult} from '../lib/exec.js'
import type {Measurement} from '../lib/measure.js'
import {atMostTarget, type BenchContext, type TargetResult} from '../lib/model.js'

export const RSS_LIMIT_MIB = 200

/**
 * One change per round, seen once by every side: the first side of a round to have seen the newest
 * change makes the next one, so each side's run covers exactly one change whatever the order.
 */
export function changeFeed(apply: (round: number) => Promise<Change>) {
  let generation = 0
  let last: Change = {files: [], bytes: 0}
  const seen = new Map<string, number>()
  return async (side: string): Promise<Change> => {
    if ((seen.get(side) ?? 0) === generation) last = await apply(++generation)
    seen.set(side, generation)
    return last
  }
}

/** 1% of the files (at least one) rewritten; what each step of the format-2 cases changes. */
export const onePercent = (files: number) => Math.max(1, Math.round(files / 100))

export interface IncrJob {
  job: string
  file: string
  primary: string
  localRoot: string
  stateDir: string
  /** Removes the primary and the local root (a full take starts from nothing). */
  empty(): Promise<void>
}

export interface IncrJobOptions {
  stateDir: string
  /** retain.local: copies kept per task (take prunes the older ones). */
  retainLocal?: number
  /** checkpoint.rereadEvery: 1 reads (and a run's pause copies) every file every time. */
  rereadEvery?: number
  command?: string[]
  /** Another job file for the same job, primary and local root (e.g. another stateDir). */
  fileName?: string
}

/** A one-task job file of format 2 under dir/NAME: its primary (file store) and local root beside it. */
export async function incrJob(dir: string, name: string, o: IncrJobOptions): Promise<IncrJob> {
  const base = path.join(dir, name)
  const j = {job: name, file: path.join(base, o.fileName ?? 'job.json'), primary: path.join(base, 'primary'), localRoot: path.join(base, 'local'), stateDir: o.stateDir}
  const doc = {
    job: name,
    primary: j.primary,
    localRoots: [j.localRoot],
    retain: {primary: 3, local: o.retainLocal ?? 1},
    checkpoint: {format: 2, rereadEvery: o.rereadEvery ?? 0},
    tasks: [{id: 't0', stateDir: o.stateDir, ...(o.command ? {command: o.command} : {})}],
  }
  await fs.mkdir(base, {recursive: true})
  await fs.writeFile(j.file, JSON.stringify(doc, null, 2))
  const empty = async () => {
    await fs.rm(j.primary, {recursive: true, force: true})
    await fs.rm(j.localRoot, {recursive: true, force: true})
  }
  return {...j, empty}
}

export const takeArgs = (jobFile: string, ...extra: string[]) => ['checkpoint', 'take', '-j', jobFile, '--json', ...extra]

/** Bytes a take wrote to the primary: the format-2 top-level figure, else the sum over its tasks. */
export function uploaded(json: any): number {
  if (typeof json?.uploadedBytes === 'number') return json.uploadedBytes
  return (json?.tasks ?? []).reduce((sum: number, t: any) => sum + (t.uploadedBytes ?? 0), 0)
}

/** Apparent size of the trees, each inode counted once (du -sb over all of them: hard links once). */
export async function duBytes(dirs: string[]): Promise<number> {
  const present = []
  for (const d of dirs)
    if (
      await fs.stat(d).then(
        () => true,
        () => false,
      )
    )
      present.push(d)
  if (present.length === 0) return 0
  const out = await runCommand(['du', '-sbc', ...present], {rss: false})
  return Number(/(\d+)\s+total\s*$/.exec(out.stdout)?.[1] ?? Number.NaN)
}

/** The sizes of a checkpoint's task indexes and manifest in a file primary. */
export async function storeFiles(primary: string, job: string, checkpointId: string): Promise<{index: number; manifest: number}> {
  const data = path.join(primary, job, 'data', checkpointId)
  let index = 0
  for (const name of await fs.readdir(data).catch(() => [] as string[])) if (name.endsWith('.index.json')) index += (await fs.stat(path.join(data, name))).size
  const manifest = await fs.stat(path.join(primary, job, 'manifests', `${checkpointId}.json`)).then(
    (s) => s.size,
    () => 0,
  )
  return {index, manifest}
}

export interface Restic {
  notRun?: string
  init(): Promise<RunResult | undefined>
  backup(dir: string): Promise<RunResult>
  /** init and a first backup, untimed. */
  prime(dir: string): Promise<void>
}

/** restic with a local repository and cache in dir; every call a no-op when restic is not installed. */
export function resticRepo(b: BenchContext, dir: string): Restic {
  const peer = b.peers.restic
  const repo = path.join(dir, 'repo')
  const env = {...process.env, RESTIC_PASSWORD: 'bench', RESTIC_CACHE_DIR: path.join(dir, 'cache')}
  const run = (args: string[]) => runCommand([peer.bin ?? 'restic', '-r', repo, ...args], {env, timeoutMs: b.options.timeoutMs})
  return {
    notRun: peer.notRun,
    init: async () => (peer.notRun ? undefined : run(['init', '--quiet'])),
    backup: (d) => run(['backup', d, '--quiet', '--host', 'bench']),
    async prime(d) {
      if (peer.notRun) return
      await run(['init', '--quiet'])
      await run(['backup', d, '--quiet', '--host', 'bench'])
    },
  }
}

/** ≤ 200 MiB peak RSS for every ckpt command measured. */
export function rssTargets(list: Measurement[]): TargetResult[] {
  return list
    .filter((m) => m.command.startsWith('ckpt ') && !m.notRun)
    .map((m) => atMostTarget(`peak RSS: ${m.label}`, `≤ ${RSS_LIMIT_MIB} MiB`, m.maxRssMiB ?? null, RSS_LIMIT_MIB, `${m.maxRssMiB} MiB`))
}
