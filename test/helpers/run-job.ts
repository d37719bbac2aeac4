// Helpers for `ckpt run` tests: job files of fixture tasks, the counter task's log, live pids.
import {readFileSync, existsSync} from 'node:fs'
import {writeFile} from 'node:fs/promises'
import * as path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {resolveSettings} from '../../src/core/config/settings.js'
import {openJob, type JobContext} from '../../src/core/context.js'
import {repoRoot} from './cli.js'

export const fixture = (name: string) => path.join(repoRoot, 'test', 'fixtures', 'tasks', name)

export interface TaskDef {
  id: string
  stateDir?: string
  command?: string[] | string
  env?: Record<string, string>
}

/** The counter fixture as a task; it logs to DIR/ID.log. */
export function counterTask(dir: string, id: string, env: Record<string, string> = {}): TaskDef {
  return {id, command: [process.execPath, fixture('counter.mjs')], env: {COUNTER_LOG: path.join(dir, `${id}.log`), ...env}}
}

export async function writeJob(dir: string, tasks: TaskDef[], extra: Record<string, unknown> = {}): Promise<string> {
  const file = path.join(dir, 'ckpt.json')
  const job = {job: 'runner', localRoots: ['local'], tasks: tasks.map((t) => ({stateDir: `state/${t.id}`, ...t})), ...extra}
  await writeFile(file, JSON.stringify(job, null, 2))
  return file
}

export async function openTestJob(jobFile: string, primary?: string): Promise<JobContext> {
  return openJob(await resolveSettings({jobFile, primary, node: 'test-node'}, {}))
}

export interface Segment {
  pid: number
  restoredFrom: string
  startValue: number
  values: number[]
}

/** The counter's log, one segment per process it started. */
export function readCounterLog(file: string): Segment[] {
  const segments: Segment[] = []
  if (!existsSync(file)) return segments
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [kind, pid, a, b] = line.split(' ')
    if (kind === 'start') segments.push({pid: Number(pid), restoredFrom: a === '-' ? '' : a, startValue: Number(b), values: []})
    else if (kind === 'value') segments.find((s) => s.pid === Number(pid))!.values.push(Number(a))
    else if (kind === 'inconsistent') throw new Error(`counter state was inconsistent: ${line}`)
  }
  return segments
}

/** Every process counts on from the value it started with, one by one, never skipping. */
export function continuityProblems(segments: Segment[]): string[] {
  const problems: string[] = []
  for (const [i, s] of segments.entries()) {
    s.values.forEach((v, j) => {
      if (v !== s.startValue + j + 1) problems.push(`segment ${i} (pid ${s.pid}): value ${v} at position ${j}, expected ${s.startValue + j + 1}`)
    })
    if (i > 0) {
      const before = segments[i - 1]
      const last = before.values.at(-1) ?? before.startValue
      if (s.startValue > last) problems.push(`segment ${i} starts at ${s.startValue}, beyond the last value ${last} ever written`)
    }
  }
  return problems
}

/** A pid that exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat[stat.lastIndexOf(')') + 2] !== 'Z'
  } catch {
    return false
  }
}

/** The process state letter from /proc (R, S, T for stopped, ...). */
export function processState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return stat[stat.lastIndexOf(')') + 2]
}

/** Polls until condition holds; `detail` adds what was seen to the timeout error. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 15_000, detail?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${detail ? `; seen:\n${detail()}` : ''}`)
    await sleep(20)
  }
}

/** The counter value in a task's stateDir (0 before its first write). */
export function counterIn(stateDir: string): number {
  const file = path.join(stateDir, 'counter.json')
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).value : 0
}
