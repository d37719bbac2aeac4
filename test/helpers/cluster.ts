// Many-node tests (docs/design/many-nodes.md): participants as real `ckpt run --node` processes, each
// with its own folder (job file copy, stateDirs, local root) as if on its own machine, sharing one
// primary; and readers of the cluster records they write there.
import type {ChildProcess} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {clusterKeys, keys} from '../../src/core/format/keys.js'
import {checkpointNumber} from '../../src/core/format/ids.js'
import {openPrimaryStore} from '../../src/core/stores/registry.js'
import {getBuffer, type PrimaryStore} from '../../src/core/stores/store.js'
import {collectCli, runCli, startCli, type CliResult} from './cli.js'
import {describeCluster} from './cluster-records.js'
import {tempDir, type PrimaryKind, type PrimaryTarget} from './primaries.js'
import {fixture, isAlive, readCounterLog} from './run-job.js'

export const JOB = 'cjob'
/** Short enough for tests: a participant is gone 3 s after its last heartbeat. */
export const LEASE_MS = 3000
export const POLL_MS = 200
export const CHECKPOINT_TIMEOUT_MS = 5000
/** Azurite on a loaded 2-core machine: a checkpoint of four tiny tasks was seen to take 6.5 s. */
const AZURE_CHECKPOINT_TIMEOUT_MS = 10_000

export interface ClusterTask {
  id: string
  node: string
  /** Seconds the task's snapshot command sleeps before copying: a slow capture. */
  slowSnapshot?: number
}

/** a1, a2 on a; b1 on b; c1 on c. */
export const THREE_NODES: ClusterTask[] = [
  {id: 'a1', node: 'a'},
  {id: 'a2', node: 'a'},
  {id: 'b1', node: 'b'},
  {id: 'c1', node: 'c'},
]

export interface CommitDoc {
  checkpointId: string
  status: 'completed' | 'aborted'
  epoch: number
  node: string
  reason?: string
  tasks?: Array<{taskId: string; node?: string; indexSha256?: string}>
}

export interface AckDoc {
  checkpointId: string
  epoch: number
  taskId: string
  node: string
  record: {indexSha256?: string}
}

/** One `ckpt run --node` process and what it printed. */
export class Participant {
  stdout = ''
  stderr = ''
  readonly result: Promise<CliResult>

  constructor(
    readonly node: string,
    readonly dir: string,
    readonly child: ChildProcess,
    readonly tasks: string[],
  ) {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d))
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d))
    this.result = collectCli(child, 600_000)
  }

  get pid(): number {
    return this.child.pid!
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null
  }

  /** The pid of a task's current process, from the counter fixture's log. */
  taskPid(taskId: string): number | undefined {
    return readCounterLog(path.join(this.dir, `${taskId}.log`)).at(-1)?.pid
  }

  /** Every start of a task: its pid and the checkpoint it was restored from ('' for none). */
  taskStarts(taskId: string): Array<{pid: number; restoredFrom: string}> {
    return readCounterLog(path.join(this.dir, `${taskId}.log`)).map((s) => ({pid: s.pid, restoredFrom: s.restoredFrom}))
  }

  tail(chars = Number(process.env.CLUSTER_TAIL ?? 2000)): string {
    return `--- ${this.node} (pid ${this.pid}${this.exited ? `, exited ${this.child.exitCode ?? this.child.signalCode}` : ''}) stderr tail:\n${this.stderr.slice(-chars)}`
  }

  /** SIGTERM and the run's JSON document. */
  async stop(timeoutMs = 20_000): Promise<CliResult> {
    if (!this.exited) this.child.kill('SIGTERM')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs)
    const result = await this.result
    clearTimeout(timer)
    return result
  }

  kill9(): void {
    if (!this.exited) this.child.kill('SIGKILL')
  }
}

/** A job of participants on one primary; `close()` kills whatever is left. */
export class Cluster {
  readonly participants: Participant[] = []
  private store: PrimaryStore | undefined

  constructor(
    readonly dir: string,
    readonly target: PrimaryTarget,
    readonly tasks: ClusterTask[],
    readonly extra: {failover?: 'job' | 'task'} = {},
  ) {}

  get checkpointTimeoutMs(): number {
    return this.target.url.startsWith('azure://') ? AZURE_CHECKPOINT_TIMEOUT_MS : CHECKPOINT_TIMEOUT_MS
  }

  /** The job file every node has (the same bytes), with the stateDirs relative to it. */
  jobDoc(tasks: ClusterTask[] = this.tasks, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      job: JOB,
      primary: this.target.url,
      localRoots: ['./local'],
      // Tests restore a checkpoint a few behind the newest: each node keeps its copies of it.
      retain: {local: 5},
      checkpoint: {format: 2, interval: '1s', grace: 0, timeout: `${this.checkpointTimeoutMs / 1000}s`},
      cluster: {lease: `${LEASE_MS / 1000}s`, poll: `${POLL_MS}ms`},
      run: {failover: this.extra.failover ?? 'job', restartDelay: '200ms', stopTimeout: '3s'},
      tasks: tasks.map((t) => ({
        id: t.id,
        node: t.node,
        stateDir: `state/${t.id}`,
        command: [process.execPath, fixture('counter.mjs')],
        // Tasks and snapshot commands run in the job file's folder: the node's own.
        env: {COUNTER_LOG: `${t.id}.log`, COUNTER_INTERVAL_MS: '50'},
        ...(t.slowSnapshot ? {snapshot: {command: ['sh', '-c', `touch "snap-$CKPT_CHECKPOINT_ID-$CKPT_TASK_ID"; sleep ${t.slowSnapshot}; cp -a "$CKPT_STATE_DIR/." "$CKPT_SNAPSHOT_DIR/"`]}} : {}),
      })),
      ...overrides,
    }
  }

  /** A node's own folder (a machine): its job file, stateDirs, local root and task logs. */
  nodeDir(node: string, doc: Record<string, unknown> = this.jobDoc()): string {
    const dir = path.join(this.dir, 'nodes', node)
    for (const t of this.tasks) mkdirSync(path.join(dir, 'state', t.id), {recursive: true})
    mkdirSync(path.join(dir, 'local'), {recursive: true})
    writeFileSync(path.join(dir, 'ckpt.json'), JSON.stringify(doc, null, 2))
    return dir
  }

  env(dir: string, node: string): Record<string, string> {
    return {...this.target.env, CKPT_NODE: node, CKPT_LOCAL_ROOTS: path.join(dir, 'local')}
  }

  /** Starts `ckpt run --node NODE` (its job-file tasks, or `--task` each of taskIds) in the node's folder (or another machine's, `folder`). */
  start(node: string, options: {taskIds?: string[]; doc?: Record<string, unknown>; folder?: string} = {}): Participant {
    const dir = this.nodeDir(options.folder ?? node, options.doc)
    const taskFlags = (options.taskIds ?? []).flatMap((id) => ['--task', id])
    const child = startCli(['run', '-j', path.join(dir, 'ckpt.json'), '--node', node, ...taskFlags, '--json'], {cwd: dir, env: this.env(dir, node)})
    const tasks = options.taskIds ?? this.tasks.filter((t) => t.node === node).map((t) => t.id)
    const p = new Participant(node, dir, child, tasks)
    this.participants.push(p)
    return p
  }

  /** Starts a, b, c (the nodes of the job file, in order). */
  startAll(): Participant[] {
    return [...new Set(this.tasks.map((t) => t.node))].map((node) => this.start(node))
  }

  /** Runs a one-shot ckpt command as NODE in its folder (restore, checkpoint list, status). */
  cli(node: string, args: string[]): Promise<CliResult> {
    const dir = path.join(this.dir, 'nodes', node)
    // The node by CKPT_NODE: not every command has --node.
    return runCli([...args, '-j', path.join(dir, 'ckpt.json')], {cwd: dir, env: this.env(dir, node), timeoutMs: 60_000})
  }

  tails(): string {
    return this.participants.map((p) => p.tail()).join('\n')
  }

  async primary(): Promise<PrimaryStore> {
    return (this.store ??= await openPrimaryStore(this.target.url, {baseDir: this.dir, env: {...process.env, ...this.target.env}, create: false}))
  }

  async keysUnder(prefix: string): Promise<string[]> {
    const out: string[] = []
    try {
      for await (const info of (await this.primary()).list(prefix)) out.push(info.key)
    } catch (error) {
      if ((error as Error).name === 'StoreUnavailableError' && !this.store) return out
      throw error
    }
    return out.sort()
  }

  async read<T>(key: string): Promise<T | undefined> {
    try {
      return JSON.parse((await getBuffer(await this.primary(), key)).toString('utf8')) as T
    } catch {
      return undefined // absent, or a file store's record caught mid-write
    }
  }

  /** Every commit record (completed manifest or abort record), by checkpoint number. */
  async commits(): Promise<CommitDoc[]> {
    let names: string[]
    try {
      names = await this.keysUnder(keys.manifestsPrefix(JOB))
    } catch {
      return []
    }
    const docs = await Promise.all(names.filter((k) => k.endsWith('.json')).map((k) => this.read<CommitDoc>(k)))
    return docs.filter((d): d is CommitDoc => d !== undefined && typeof d.checkpointId === 'string').sort((a, b) => checkpointNumber(a.checkpointId)! - checkpointNumber(b.checkpointId)!)
  }

  async completed(): Promise<CommitDoc[]> {
    return (await this.commits()).filter((c) => c.status === 'completed')
  }

  async announcement(id: string): Promise<{checkpointId: string; epoch: number; node: string; tasks: string[]} | undefined> {
    return this.read(clusterKeys.announce(JOB, id as never))
  }

  /** Every announcement, by checkpoint number. */
  async announcements(): Promise<Array<{checkpointId: string; epoch: number; node: string; tasks: string[]}>> {
    const names = await this.keysUnder(clusterKeys.announcePrefix(JOB))
    const docs = await Promise.all(names.map((k) => this.read<{checkpointId: string; epoch: number; node: string; tasks: string[]}>(k)))
    return docs.filter((d) => d !== undefined).sort((x, y) => checkpointNumber(x!.checkpointId)! - checkpointNumber(y!.checkpointId)!) as never
  }

  async acks(id: string): Promise<AckDoc[]> {
    const names = await this.keysUnder(clusterKeys.acksPrefix(JOB, id as never))
    return (await Promise.all(names.map((k) => this.read<AckDoc>(k)))).filter((a): a is AckDoc => a !== undefined)
  }

  /** The highest-term coordinator record. */
  async coordinator(): Promise<{term: number; node: string} | undefined> {
    const names = (await this.keysUnder(clusterKeys.coordinatorPrefix(JOB))).filter((k) => /\/\d{8}\.json$/.test(k))
    return names.length ? this.read(names.at(-1)!) : undefined
  }

  async epoch(): Promise<number> {
    const names = (await this.keysUnder(clusterKeys.epochsPrefix(JOB))).filter((k) => /epochs\/\d{8}\.json$/.test(k))
    return names.length ? Number(/(\d{8})\.json$/.exec(names.at(-1)!)![1]) : 0
  }

  async restoredIn(epoch: number): Promise<Array<{taskId: string; node: string; checkpointId: string | null; source: string; heldBy?: string}>> {
    const names = await this.keysUnder(clusterKeys.restoredPrefix(JOB, epoch))
    return (await Promise.all(names.map((k) => this.read<any>(k)))).filter((r) => r !== undefined)
  }

  /** Polls `probe` until it returns a value; the timeout names what was awaited and shows the participants' stderr. */
  async waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000, seen?: () => Promise<string>): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const value = await probe()
      if (value !== undefined && value !== false) return value as T
      if (Date.now() > deadline) {
        const commits = (await this.commits().catch(() => []))
          .slice(-15)
          .map((c) => `${c.checkpointId}:${c.status}@${c.epoch}`)
          .join(' ')
        const records = await describeCluster(this).catch((error) => `(cluster records unreadable: ${(error as Error).message})`)
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}\nlast commit records (id:status@epoch): ${commits || 'none'}\n${records}\n${seen ? `${await seen()}\n` : ''}${this.tails()}`,
        )
      }
      await sleep(100)
    }
  }

  /** How many times each task of each participant has started, once every one has logged its first start. */
  async startCounts(): Promise<Map<string, number>> {
    const counts = () => new Map(this.participants.flatMap((p) => p.tasks.map((t) => [t, p.taskStarts(t).length] as const)))
    await this.waitFor('every task logging its start', async () => [...counts().values()].every((n) => n > 0))
    return counts()
  }

  /** Waits until every running participant's record shows its copies of `checkpointId` (or newer) confirmed. */
  async waitCopiesConfirmed(checkpointId: string): Promise<void> {
    const n = checkpointNumber(checkpointId)!
    const unconfirmed = async () => {
      const behind: string[] = []
      for (const p of this.participants.filter((p) => !p.exited)) {
        const copies = (await this.read<{copies?: Record<string, string>}>(clusterKeys.participant(JOB, p.node)))?.copies ?? {}
        for (const t of p.tasks) if ((checkpointNumber(copies[t] ?? '') ?? 0) < n) behind.push(`${p.node}/${t}: ${copies[t] ?? 'none'}`)
      }
      return behind
    }
    await this.waitFor(
      `every participant confirming its copies of ${checkpointId}`,
      async () => (await unconfirmed()).length === 0,
      30_000,
      async () => (await unconfirmed()).join(', '),
    )
  }

  /** Waits for `count` completed checkpoints numbered above `after` (a checkpoint id), and returns them. */
  async waitCompleted(count: number, options: {after?: string; epoch?: number; timeoutMs?: number} = {}): Promise<CommitDoc[]> {
    const floor = options.after ? checkpointNumber(options.after)! : 0
    return this.waitFor(
      `${count} completed checkpoint(s) after ${options.after ?? 'the start'}${options.epoch !== undefined ? ` in epoch ${options.epoch} or later` : ''}`,
      async () => {
        const found = (await this.completed()).filter((c) => checkpointNumber(c.checkpointId)! > floor && (options.epoch === undefined || c.epoch >= options.epoch))
        return found.length >= count ? found : undefined
      },
      options.timeoutMs ?? 45_000,
    )
  }

  /** Kills every participant still running and closes the store; for `after`/finally. */
  async close(): Promise<void> {
    for (const p of this.participants) {
      if (p.exited) continue
      signal(p.pid, 'SIGCONT') // a test that stopped one and failed
      p.kill9()
    }
    await Promise.all(this.participants.map((p) => Promise.race([p.result, sleep(5000)])))
    // The watchdog kills the tasks of a killed run; wait until they are gone so the temp folder can go.
    const taskPids = this.participants.flatMap((p) => p.tasks.flatMap((t) => p.taskStarts(t).map((s) => s.pid)))
    const deadline = Date.now() + 5000
    while (taskPids.some(isAlive) && Date.now() < deadline) await sleep(50)
    for (const pid of taskPids.filter(isAlive)) signal(-pid, 'SIGKILL') // the task's process group: it leads it
    await this.store?.close()
    this.store = undefined
  }
}

/** Sends a signal to a pid (or a group, negative) that may be gone already. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name)
  } catch {
    // gone already
  }
}

/** Runs fn with a fresh cluster on a fresh primary of kind; kills what is left and removes the folder after. */
export async function withCluster(kind: PrimaryKind, tasks: ClusterTask[], fn: (cluster: Cluster) => Promise<void>, extra: {failover?: 'job' | 'task'} = {}): Promise<void> {
  const {dir, cleanup} = await tempDir('ckpt-cluster-')
  const cluster = new Cluster(dir, await kind.fresh(dir), tasks, extra)
  try {
    await fn(cluster)
  } finally {
    await cluster.close()
    await cleanup()
  }
}

/** The last recovery of each task in a run's JSON document. */
export function lastRecoveries(run: CliResult): Map<string, {taskId: string; checkpointId: string; source: string; heldBy?: string; trigger?: string}> {
  const out = new Map()
  for (const r of run.json?.recoveries ?? []) out.set(r.taskId, r)
  return out
}

/** The node each task of a job runs on. */
export function nodeOf(tasks: ClusterTask[], taskId: string): string {
  return tasks.find((t) => t.id === taskId)!.node
}
