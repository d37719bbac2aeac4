// What the many-node cases share: a job of tasks spread over participants (each a real
// `ckpt run --node` process with its own local root), and the store records they are timed by.
import {spawn, type ChildProcess} from 'node:child_process'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {ckptEnv} from '../lib/ckpt.js'
import {runCommand} from '../lib/exec.js'
import type {BenchContext} from '../lib/model.js'

export const LEASE = '4s'
export const POLL = '500ms'

export interface MnJob {
  name: string
  dir: string
  file: string
  primary: string
  tasks: Array<{id: string; node: string; stateDir: string}>
  localRoot(node: string): string
}

/** A format-2 job on a file primary: task k runs on node n(k / perNode); every task an idle process. */
export async function mnJob(dir: string, name: string, tasks: number, perNode: number, view: StoreView = fileView): Promise<MnJob> {
  const list = Array.from({length: tasks}, (_, k) => ({id: `t${k}`, node: `n${Math.floor(k / perNode)}`, stateDir: path.join(dir, 'state', `t${k}`)}))
  const job: MnJob = {name, dir, file: path.join(dir, 'job.json'), primary: view.primary(dir, name), tasks: list, localRoot: (node) => path.join(dir, 'local', node)}
  const doc = {
    job: name,
    primary: job.primary,
    checkpoint: {format: 2, grace: 0, timeout: '10m'},
    cluster: {lease: LEASE, poll: POLL},
    retain: {primary: 3, local: 1},
    tasks: list.map((t) => ({id: t.id, node: t.node, stateDir: t.stateDir, command: ['sleep', '1000000']})),
  }
  await fs.mkdir(dir, {recursive: true})
  await fs.writeFile(job.file, JSON.stringify(doc, null, 2))
  return job
}

/** Copies each task's data set into its stateDir (untimed). */
export async function fillStates(job: MnJob, sources: string[]): Promise<void> {
  for (const [k, t] of job.tasks.entries()) {
    await fs.rm(t.stateDir, {recursive: true, force: true})
    await fs.mkdir(path.dirname(t.stateDir), {recursive: true})
    await runCommand(['cp', '-a', sources[k], t.stateDir], {rss: false})
  }
}

export interface Participant {
  node: string
  proc: ChildProcess
  startedAt: number
  /** SIGTERM, then the run's --json document (undefined if it printed none). */
  stop(): Promise<any>
  /** kill -9 of the participant and of its task processes: the machine is gone. */
  lose(): Promise<void>
  stderr(): string
  /** Peak resident set of the participant so far (VmHWM), KiB; 0 once it is gone. */
  peakRssKiB(): Promise<number>
}

export function startParticipant(b: BenchContext, job: MnJob, node: string, tasks: string[] = [], env: Record<string, string> = {}): Participant {
  const args = ['run', '-j', job.file, '--node', node, '--interval', '0', '--json', ...tasks.flatMap((t) => ['--task', t])]
  const [cmd, ...rest] = b.ckpt.argv(args)
  const startedAt = Date.now()
  const proc = spawn(cmd, rest, {env: ckptEnv({...env, CKPT_LOCAL_ROOTS: job.localRoot(node), CKPT_NODE: node}), stdio: ['ignore', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-32_000)))
  const closed = new Promise<void>((resolve) => proc.on('close', () => resolve()))
  return {
    node,
    proc,
    startedAt,
    stderr: () => stderr,
    peakRssKiB: async () => Number(/VmHWM:\s+(\d+) kB/.exec(await fs.readFile(`/proc/${proc.pid}/status`, 'utf8').catch(() => ''))?.[1] ?? 0),
    async stop() {
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000)
      await closed
      clearTimeout(timer)
      try {
        return JSON.parse(stdout)
      } catch {
        return undefined
      }
    },
    async lose() {
      const children = await descendants(proc.pid!)
      proc.kill('SIGKILL')
      for (const pid of children) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          // already gone (the run's watchdog may have killed its tasks first)
        }
      }
      await closed
    },
  }
}

async function descendants(pid: number): Promise<number[]> {
  const text = await fs.readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '')
  const direct = text.trim().split(/\s+/).filter(Boolean).map(Number)
  const below = await Promise.all(direct.map(descendants))
  return [...direct, ...below.flat()]
}

/** Reads the job's records in its primary: a folder, or Azurite (untimed, straight to the server). */
export interface StoreView {
  /** The job file's primary for a job in dir. */
  primary(dir: string, name: string): string
  /** Names directly under key (a folder's entries). */
  children(job: MnJob, key: string): Promise<string[]>
  read(job: MnJob, key: string): Promise<any>
  /** Last write of the object, ms (the store's time; 1 s resolution on Azure). */
  modifiedMs(job: MnJob, key: string): Promise<number | undefined>
  /** True when a record's mtime is a fine enough time stamp (file store); else the time it was first seen is used. */
  preciseTimes: boolean
}

export const fileView: StoreView = {
  primary: (dir) => path.join(dir, 'primary'),
  // the store's temporary files (.ckpt-tmp-*, renamed into place) are not records yet
  children: async (job, key) => (await fs.readdir(path.join(job.primary, job.name, key)).catch(() => [] as string[])).filter((n) => !n.startsWith('.')),
  read: async (job, key) => JSON.parse(await fs.readFile(path.join(job.primary, job.name, key), 'utf8')),
  modifiedMs: async (job, key) => (await fs.stat(path.join(job.primary, job.name, key)).catch(() => undefined))?.mtimeMs,
  preciseTimes: true,
}

/** Azurite: primaries azure://CONTAINER/RUN, read with the SDK over a direct connection. */
export async function azureView(connectionString: string, container: string): Promise<StoreView> {
  const {BlobServiceClient} = await import('@azure/storage-blob')
  const client = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(container)
  const base = (job: MnJob) => `${job.primary.slice(`azure://${container}/`.length)}/${job.name}`
  return {
    primary: (dir) => `azure://${container}/${path.basename(path.dirname(dir))}-${path.basename(dir)}`,
    async children(job, key) {
      const prefix = `${base(job)}/${key}/`
      const names = new Set<string>()
      for await (const blob of client.listBlobsFlat({prefix})) names.add(blob.name.slice(prefix.length).split('/')[0])
      return [...names]
    },
    read: async (job, key) => JSON.parse((await client.getBlobClient(`${base(job)}/${key}`).downloadToBuffer()).toString('utf8')),
    modifiedMs: async (job, key) =>
      (
        await client
          .getBlobClient(`${base(job)}/${key}`)
          .getProperties()
          .catch(() => undefined)
      )?.lastModified?.getTime(),
    preciseTimes: false,
  }
}

/** Waits until every participant has written its participant record (all live, so a checkpoint can be announced). */
export async function untilJoined(view: StoreView, job: MnJob, nodes: string[], all: Participant[], withinMs = 120_000): Promise<void> {
  await until(`participants ${nodes.join(', ')} of job ${job.name}`, all, withinMs, async () => {
    const names = await view.children(job, 'cluster/participants')
    return nodes.every((n) => names.includes(`${n}.json`)) || undefined
  })
}

export interface Restored {
  epoch: number
  /** Per task: its restored record and when it was written (mtime, ms) or first seen. */
  tasks: Array<{taskId: string; node: string; source: string; checkpointId: string; at: number}>
}

const EPOCH = /^\d{8}$/

/** Waits for an epoch above `after` in which every task of the job has its restored record. */
export async function untilRestored(view: StoreView, job: MnJob, after: number, all: Participant[], withinMs = 600_000): Promise<Restored> {
  const firstSeen = new Map<string, number>()
  return until(`every task restored in an epoch after ${after}`, all, withinMs, async () => {
    const newest = (await view.children(job, 'cluster/epochs'))
      .filter((n) => EPOCH.test(n))
      .sort()
      .at(-1)
    if (!newest || Number(newest) <= after) return undefined
    const key = `cluster/epochs/${newest}/restored`
    const files = await view.children(job, key)
    for (const f of files) if (!firstSeen.has(f)) firstSeen.set(f, Date.now())
    if (files.length < job.tasks.length) return undefined
    const tasks = await Promise.all(files.map(async (f) => ({...(await view.read(job, `${key}/${f}`)), at: view.preciseTimes ? (await view.modifiedMs(job, `${key}/${f}`))! : firstSeen.get(f)!})))
    return {epoch: Number(newest), tasks}
  })
}

export const currentEpochOf = async (view: StoreView, job: MnJob): Promise<number> => Math.max(0, ...(await view.children(job, 'cluster/epochs')).filter((n) => EPOCH.test(n)).map(Number))

/** Waits until a participant record is older than the lease (plus a second), so that another node may take its tasks. */
export async function untilStale(view: StoreView, job: MnJob, node: string, leaseMs: number): Promise<void> {
  const at = await view.modifiedMs(job, `cluster/participants/${node}.json`)
  if (at !== undefined) await sleep(Math.max(0, at + leaseMs + 1000 - Date.now()))
}

export interface Manifest {
  checkpointId: string
  status: string
  createdAt: string
  completedAt?: string
}

export const manifestOf = (view: StoreView, job: MnJob, checkpointId: string): Promise<Manifest> => view.read(job, `manifests/${checkpointId}.json`)

/** Announcement to commit, from the manifest: completedAt (newest ack) − createdAt (announcement). */
export const commitSpanMs = (m: Manifest): number => Date.parse(m.completedAt!) - Date.parse(m.createdAt)

/** Per timed checkpoint, how long after the announcement each participant began on it: the poll's share of a checkpoint. */
export function startLags(side: string, nodes: string[], docs: any[], announced: Map<string, number>): string {
  const ids = [...announced.keys()].filter((k) => k.startsWith(`${side}/`)).map((k) => k.slice(side.length + 1))
  return ids
    .map((id) => {
      const lags = docs.map((d, i) => {
        const c = (d?.checkpoints ?? []).find((x: any) => x.checkpointId === id)
        return c ? `${nodes[i]} ${Date.parse(c.completedAt) - c.durationMs - announced.get(`${side}/${id}`)!}` : `${nodes[i]} ?`
      })
      return `${id}: ${lags.join(', ')}`
    })
    .join('; ')
}

/** When the recovery's steps happened, relative to the replacement's spawn: from the epoch record and each participant's run JSON. */
export function timeline(start: number, epochAt: number | undefined, live: Participant[], docs: any[]): string {
  const parts = [`epoch ${epochAt === undefined ? '?' : Math.round(epochAt - start)}`]
  for (const [i, p] of live.entries()) {
    const last = (docs[i]?.recoveries ?? []).at(-1)
    if (last) parts.push(`${p.node} ${Date.parse(last.startedAt) - start}+${last.durationMs}`)
  }
  return parts.join(', ')
}

async function until<T>(what: string, all: Participant[], withinMs: number, read: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + withinMs
  for (;;) {
    const found = await read()
    if (found !== undefined) return found
    const dead = all.find((p) => p.proc.exitCode !== null && p.proc.signalCode === null)
    if (dead) throw new Error(`waiting for ${what}: participant ${dead.node} exited ${dead.proc.exitCode}: ${lastLines(dead.stderr())}`)
    if (Date.now() > end) throw new Error(`waited ${withinMs} ms for ${what}; ${all.map((p) => `${p.node}: ${lastLines(p.stderr())}`).join(' || ')}`)
    await sleep(50)
  }
}

const lastLines = (text: string) => text.trim().split('\n').slice(-6).join(' | ')
