// The job file (default ./ckpt.json): loading and validation. Every problem names its field path.
import {readFile} from 'node:fs/promises'
import * as path from 'node:path'
import {UsageError} from '../errors.js'
import {describeValue, MAX_TIMER_MS, parseDuration, parseSize} from './units.js'
import {resolveTaskUser, type TaskUser} from './task-user.js'

export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
export const DEFAULT_JOB_FILE = 'ckpt.json'
export const DEFAULT_PRIMARY = '.ckpt/primary'
export const DEFAULT_LOCAL_ROOT = '.ckpt/local'

export type Command = string | string[]

export interface TaskSpec {
  id: string
  /** Absolute path. */
  stateDir: string
  command?: Command
  snapshot?: {command: Command; timeoutMs?: number}
  env: Record<string, string>
  /** Runs the command and snapshot command as this user (ckpt must be root). */
  user?: TaskUser
  /** Variables of ckpt's environment the task asks for (`"NAME": true`): store credentials are passed only so. */
  inheritEnv?: string[]
  /** Many nodes: the node whose `ckpt run --node` runs this task. */
  node?: string
}

export interface JobSpec {
  /** The job's name (the job file's `job` field): the prefix of its objects in the primary store. */
  name: string
  /** Absolute path of the job file. */
  file: string
  /** Folder relative paths resolve against. */
  baseDir: string
  primary?: string
  localRoots?: string[]
  retain: {primary: number; local: number}
  /**
   * format: what takes write (2: content-addressed, incremental; 1: one tar per task, for readers
   * older than format 2). rereadEvery: every Nth format-2 take reads every file (0: never).
   */
  checkpoint: {intervalMs: number; timeoutMs: number; graceMs: number; format: 1 | 2; rereadEvery: number}
  transfer: {blockSize?: number; concurrency?: number}
  run: {failover?: 'job' | 'task'; maxRestarts?: number; restartWindowMs?: number; restartDelayMs?: number; stopTimeoutMs?: number}
  /** Many nodes: how long a silent participant or coordinator keeps its place, and how often participants read the store. */
  cluster: {leaseMs: number; pollMs: number}
  tasks: TaskSpec[]
}

type Json = unknown
type Obj = Record<string, Json>

class Checker {
  problems: string[] = []
  fail(at: string, problem: string): undefined {
    this.problems.push(`${at}: ${problem}`)
    return undefined
  }
  object(value: Json, at: string, allowed: string[]): Obj | undefined {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return this.fail(at, 'must be an object')
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) this.fail(at === '' ? key : `${at}.${key}`, `unknown field (known: ${allowed.join(', ')})`)
    }
    return value as Obj
  }
  string(value: Json, at: string): string | undefined {
    if (typeof value !== 'string' || value === '') return this.fail(at, 'must be a non-empty string')
    return this.noNul(value, at)
  }
  /** A NUL byte cannot reach a path, an argv or an environment: Node refuses it with a raw error. */
  noNul(value: string, at: string): string | undefined {
    return value.includes('\0') ? this.fail(at, 'must not contain a NUL byte') : value
  }
  id(value: Json, at: string): string | undefined {
    const s = this.string(value, at)
    if (s !== undefined && !ID_PATTERN.test(s)) {
      return this.fail(at, `${JSON.stringify(s)} may only contain letters, digits, '.', '_' and '-', start with a letter or digit, and be at most 128 characters`)
    }
    return s
  }
  int(value: Json, at: string, min: number): number | undefined {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) return this.fail(at, `must be a whole number of at least ${min}`)
    return value
  }
  duration(value: Json, at: string): number | undefined {
    const ms = parseDuration(value)
    if (ms === undefined) return this.fail(at, `${describeValue(value)} is not a duration (milliseconds, or like "500ms", "30s", "10m", "1h", "7d")`)
    return ms
  }
  /** A duration that feeds a timer: Node fires a timer above 2^31-1 ms at once. */
  timer(value: Json, at: string): number | undefined {
    const ms = this.duration(value, at)
    if (ms !== undefined && ms > MAX_TIMER_MS)
      return this.fail(at, `${describeValue(value)} is longer than the longest timer ckpt can keep (${MAX_TIMER_MS} ms, just under 24d 21h); use at most "24d"`)
    return ms
  }
  size(value: Json, at: string): number | undefined {
    const bytes = parseSize(value)
    if (bytes === undefined || bytes === 0) return this.fail(at, `${describeValue(value)} is not a size (bytes, or like "4MiB", "1GiB")`)
    return bytes
  }
  command(value: Json, at: string): Command | undefined {
    if (typeof value === 'string' && value.trim() !== '') return this.noNul(value, at)
    if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string') && value[0] !== '') {
      return value.some((v) => v.includes('\0')) ? this.fail(at, 'must not contain a NUL byte') : (value as string[])
    }
    return this.fail(at, 'must be a string (run by /bin/sh -c) or a non-empty array of strings (argv)')
  }
}

export function parseJobSpec(data: Json, file: string): JobSpec {
  const c = new Checker()
  const baseDir = path.dirname(file)
  const top = c.object(data, '', ['job', 'primary', 'localRoots', 'retain', 'checkpoint', 'transfer', 'run', 'cluster', 'tasks'])
  if (!top) throw new UsageError(`job file ${file}: the document must be a JSON object`)
  const job = top.job === undefined ? c.fail('job', 'required') : c.id(top.job, 'job')
  const primary = top.primary === undefined ? undefined : c.string(top.primary, 'primary')
  const localRoots = parseLocalRoots(c, top.localRoots, baseDir)
  const retain = parseRetain(c, top.retain)
  const checkpoint = parseCheckpoint(c, top.checkpoint)
  const transfer = parseTransfer(c, top.transfer)
  const run = parseRun(c, top.run)
  const cluster = parseCluster(c, top.cluster)
  const tasks = parseTasks(c, top.tasks, baseDir)
  if (c.problems.length > 0) {
    throw new UsageError(`job file ${file}: ${c.problems.join('; ')}`)
  }
  return {name: job!, file, baseDir, primary, localRoots, retain, checkpoint, transfer, run, cluster, tasks}
}

function parseLocalRoots(c: Checker, value: Json, baseDir: string): string[] | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || value.length === 0) return c.fail('localRoots', 'must be a non-empty array of folders')
  return value.map((r, i) => c.string(r, `localRoots[${i}]`) ?? '').map((r) => path.resolve(baseDir, r))
}

function parseRetain(c: Checker, value: Json): JobSpec['retain'] {
  const retain = {primary: 3, local: 1}
  if (value === undefined) return retain
  const r = c.object(value, 'retain', ['primary', 'local'])
  if (r?.primary !== undefined) retain.primary = c.int(r.primary, 'retain.primary', 1) ?? 3
  if (r?.local !== undefined) retain.local = c.int(r.local, 'retain.local', 1) ?? 1
  return retain
}

/** What takes write when the job file does not say. */
export const DEFAULT_FORMAT: 1 | 2 = 2

function parseCheckpoint(c: Checker, value: Json): JobSpec['checkpoint'] {
  const checkpoint: JobSpec['checkpoint'] = {intervalMs: 30_000, timeoutMs: 600_000, graceMs: 3_600_000, format: DEFAULT_FORMAT, rereadEvery: 0}
  if (value === undefined) return checkpoint
  const k = c.object(value, 'checkpoint', ['interval', 'timeout', 'grace', 'format', 'rereadEvery'])
  if (k?.format !== undefined) {
    if (k.format === 1 || k.format === 2) checkpoint.format = k.format
    else c.fail('checkpoint.format', 'must be 1 or 2 (2: incremental, content-addressed; 1: one tar per task)')
  }
  if (k?.rereadEvery !== undefined) checkpoint.rereadEvery = c.int(k.rereadEvery, 'checkpoint.rereadEvery', 0) ?? 0
  if (k?.interval !== undefined) checkpoint.intervalMs = c.timer(k.interval, 'checkpoint.interval') ?? 30_000
  if (k?.timeout !== undefined) checkpoint.timeoutMs = c.timer(k.timeout, 'checkpoint.timeout') ?? 600_000
  if (k?.grace !== undefined) checkpoint.graceMs = c.duration(k.grace, 'checkpoint.grace') ?? 3_600_000
  // A take commits only within half the grace period of its claim; prune relies on it (format 2's packs).
  if (checkpoint.graceMs !== 0 && checkpoint.graceMs < 2 * checkpoint.timeoutMs) {
    const [grace, timeout] = [checkpoint.graceMs, checkpoint.timeoutMs].map(shortDuration)
    c.fail(
      'checkpoint.grace',
      `${grace} is less than twice checkpoint.timeout (${timeout}${k?.timeout === undefined ? ', its default' : ''}), so a prune could remove what a slow take still commits; set checkpoint.grace to at least ${shortDuration(2 * checkpoint.timeoutMs)} or checkpoint.timeout to at most ${shortDuration(Math.floor(checkpoint.graceMs / 2))} (a grace of 0 turns the guard off, for tests)`,
    )
  }
  return checkpoint
}

/** A duration in the job file's own words: "90m", "2h", "1500ms". */
function shortDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`
  return `${ms}ms`
}

function parseTransfer(c: Checker, value: Json): JobSpec['transfer'] {
  const transfer: JobSpec['transfer'] = {}
  if (value === undefined) return transfer
  const t = c.object(value, 'transfer', ['blockSize', 'concurrency'])
  if (t?.blockSize !== undefined) transfer.blockSize = c.size(t.blockSize, 'transfer.blockSize')
  if (t?.concurrency !== undefined) transfer.concurrency = c.int(t.concurrency, 'transfer.concurrency', 1)
  return transfer
}

function parseRun(c: Checker, value: Json): JobSpec['run'] {
  const run: JobSpec['run'] = {}
  if (value === undefined) return run
  const r = c.object(value, 'run', ['failover', 'maxRestarts', 'restartWindow', 'restartDelay', 'stopTimeout'])
  if (r?.failover !== undefined) {
    if (r.failover === 'job' || r.failover === 'task') run.failover = r.failover
    else c.fail('run.failover', 'must be "job" or "task"')
  }
  if (r?.maxRestarts !== undefined) run.maxRestarts = c.int(r.maxRestarts, 'run.maxRestarts', 0)
  if (r?.restartWindow !== undefined) run.restartWindowMs = c.duration(r.restartWindow, 'run.restartWindow')
  if (r?.restartDelay !== undefined) run.restartDelayMs = c.timer(r.restartDelay, 'run.restartDelay')
  if (r?.stopTimeout !== undefined) run.stopTimeoutMs = c.timer(r.stopTimeout, 'run.stopTimeout')
  return run
}

export const CLUSTER_DEFAULTS = {leaseMs: 15_000, pollMs: 1000}

function parseCluster(c: Checker, value: Json): JobSpec['cluster'] {
  const cluster = {...CLUSTER_DEFAULTS}
  if (value === undefined) return cluster
  const k = c.object(value, 'cluster', ['lease', 'poll'])
  if (k?.lease !== undefined) cluster.leaseMs = c.timer(k.lease, 'cluster.lease') ?? cluster.leaseMs
  if (k?.poll !== undefined) cluster.pollMs = c.timer(k.poll, 'cluster.poll') ?? cluster.pollMs
  if (cluster.pollMs <= 0) c.fail('cluster.poll', 'must be longer than 0')
  else if (cluster.leaseMs < 3 * cluster.pollMs) {
    c.fail(
      'cluster.lease',
      `${shortDuration(cluster.leaseMs)} is less than three times cluster.poll (${shortDuration(cluster.pollMs)}), so a live participant could look gone between two heartbeats; set cluster.lease to at least ${shortDuration(3 * cluster.pollMs)}`,
    )
  }
  return cluster
}

function parseTasks(c: Checker, value: Json, baseDir: string): TaskSpec[] {
  if (value === undefined) return c.fail('tasks', 'required') ?? []
  if (!Array.isArray(value) || value.length === 0) return c.fail('tasks', 'must be a non-empty array') ?? []
  const seen = new Map<string, number>()
  const tasks: TaskSpec[] = []
  value.forEach((raw, i) => {
    const task = parseTask(c, raw, i, seen, baseDir)
    if (task?.id !== undefined && task.stateDir !== undefined) tasks.push(task as TaskSpec)
  })
  return tasks
}

/** One task; its id or stateDir is undefined when it has a problem (then it is not among the tasks). */
function parseTask(c: Checker, raw: Json, i: number, seen: Map<string, number>, baseDir: string): Partial<TaskSpec> | undefined {
  const at = `tasks[${i}]`
  const t = c.object(raw, at, ['id', 'stateDir', 'command', 'snapshot', 'env', 'user', 'node'])
  if (!t) return undefined
  const id = t.id === undefined ? c.fail(`${at}.id`, 'required') : c.id(t.id, `${at}.id`)
  if (id !== undefined) {
    if (seen.has(id)) c.fail(`${at}.id`, `${JSON.stringify(id)} is already the id of tasks[${seen.get(id)}]; task ids must be unique`)
    else seen.set(id, i)
  }
  const stateDir = t.stateDir === undefined ? c.fail(`${at}.stateDir`, 'required') : c.string(t.stateDir, `${at}.stateDir`)
  const command = t.command === undefined ? undefined : c.command(t.command, `${at}.command`)
  const snapshot = parseSnapshot(c, t.snapshot, `${at}.snapshot`)
  const {env, inheritEnv} = parseEnv(c, t.env, `${at}.env`)
  const user = t.user === undefined ? undefined : resolveTaskUser(t.user)
  if (user && 'problem' in user) c.fail(`${at}.user`, user.problem)
  const node = t.node === undefined ? undefined : c.id(t.node, `${at}.node`)
  return {
    id,
    stateDir: stateDir === undefined ? undefined : path.resolve(baseDir, stateDir),
    command,
    snapshot,
    env,
    ...(inheritEnv.length > 0 ? {inheritEnv} : {}),
    ...(user && !('problem' in user) ? {user} : {}),
    ...(node !== undefined ? {node} : {}),
  }
}

function parseSnapshot(c: Checker, value: Json, at: string): TaskSpec['snapshot'] {
  if (value === undefined) return undefined
  const s = c.object(value, at, ['command', 'timeout'])
  if (!s) return undefined
  const command = s.command === undefined ? c.fail(`${at}.command`, 'required') : c.command(s.command, `${at}.command`)
  const timeoutMs = s.timeout === undefined ? undefined : c.timer(s.timeout, `${at}.timeout`)
  return command === undefined ? undefined : {command, timeoutMs}
}

function parseEnv(c: Checker, value: Json, at: string): {env: Record<string, string>; inheritEnv: string[]} {
  const env: Record<string, string> = {}
  const inheritEnv: string[] = []
  if (value === undefined) return {env, inheritEnv}
  const e = c.object(value, at, Object.keys(value && typeof value === 'object' ? value : {}))
  for (const [k, v] of Object.entries(e ?? {})) {
    if (k === '' || k.includes('\0') || k.includes('=')) c.fail(`${at}.${JSON.stringify(k)}`, "a variable name must not contain a NUL byte or '=', nor be empty")
    else if (v === true) inheritEnv.push(k)
    else if (typeof v !== 'string') c.fail(`${at}.${k}`, "must be a string, or true to pass on ckpt's own value (store credentials are passed only so)")
    else if (c.noNul(v, `${at}.${k}`) !== undefined) env[k] = v
  }
  return {env, inheritEnv}
}

export async function loadJobFile(file: string): Promise<JobSpec> {
  const absolute = path.resolve(file)
  let text: string
  try {
    text = await readFile(absolute, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new UsageError(`job file ${absolute} not found; write one with 'ckpt init' or name another one (CKPT_JOB_FILE)`)
    throw new UsageError(`job file ${absolute}: cannot read it (${code})`, {cause: error})
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    throw new UsageError(`job file ${absolute}: not valid JSON (${(error as Error).message})`, {cause: error})
  }
  return parseJobSpec(data, absolute)
}
