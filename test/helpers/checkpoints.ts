// A job with real state folders and a real primary of one kind, opened in this process for fast
// setup (takes, corruption) while the commands under test run as child processes.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {takeCheckpoint} from '../../src/core/checkpoint/take.js'
import {keys} from '../../src/core/format/keys.js'
import {resolveSettings} from '../../src/core/config/settings.js'
import {openJob, type JobContext} from '../../src/core/context.js'
import {getBuffer} from '../../src/core/stores/store.js'
import type {ChildProcess} from 'node:child_process'
import {runCli, startCli, type CliResult} from './cli.js'
import {writeJob} from './job.js'
import {tempDir, type PrimaryKind, type PrimaryTarget} from './primaries.js'

export interface CheckpointJob {
  dir: string
  target: PrimaryTarget
  ctx: JobContext
  /** Runs the built CLI in the job's folder with --json. */
  ckpt(args: string[], env?: Record<string, string>): Promise<CliResult>
  /** Starts the built CLI without waiting for it. */
  start(args: string[], env?: Record<string, string>): ChildProcess
  /** Takes checkpoints in this process, rewriting one file per task each time. */
  take(count?: number): Promise<string[]>
  state(taskId: string): string
  /** Every object key of the job in the primary. */
  keys(): Promise<string[]>
  manifest(id: string): Promise<any>
  cleanup(): Promise<void>
}

export async function checkpointJob(kind: PrimaryKind, options: {tasks?: string[]; extra?: Record<string, unknown>; node?: string; snapshot?: string} = {}): Promise<CheckpointJob> {
  const {dir, cleanup} = await tempDir()
  const target = await kind.fresh(dir)
  const tasks = options.tasks ?? ['alpha', 'beta']
  const jobFile = await writeJob(dir, {
    tasks: tasks.map((id) => ({id, ...(options.snapshot ? {snapshot: {command: options.snapshot}} : {})})),
    primary: target.url,
    localRoots: ['local'],
    extra: options.extra,
  })
  Object.assign(process.env, target.env)
  const node = options.node ?? 'test-node'
  const ctx = await openJob(await resolveSettings({jobFile, node}, {...process.env, ...target.env}))
  let round = 0
  const state = (id: string) => path.join(dir, 'state', id)
  for (const id of tasks) {
    await fs.mkdir(path.join(state(id), 'sub'), {recursive: true})
    await fs.writeFile(path.join(state(id), 'sub', 'fixed.txt'), `fixed ${id}\n`.repeat(100))
    await fs.writeFile(path.join(state(id), 'empty'), '')
  }
  return {
    dir,
    target,
    ctx,
    state,
    ckpt: (args, env = {}) => runCli([...args, '--json'], {cwd: dir, env: {...target.env, CKPT_NODE: node, ...env}}),
    start: (args, env = {}) => startCli([...args, '--json'], {cwd: dir, env: {...target.env, CKPT_NODE: node, ...env}}),
    async take(count = 1) {
      const ids: string[] = []
      for (let i = 0; i < count; i++) {
        round++
        for (const id of tasks) await fs.writeFile(path.join(state(id), 'counter.txt'), `${id} round ${round}\n`.repeat(50 + round))
        ids.push((await takeCheckpoint(ctx)).checkpointId)
      }
      return ids
    },
    async keys() {
      const found: string[] = []
      for await (const info of ctx.primary.list(keys.jobPrefix(ctx.job.name))) found.push(info.key)
      return found.sort()
    },
    async manifest(id) {
      return JSON.parse((await getBuffer(ctx.primary, keys.manifest(ctx.job.name, id))).toString('utf8'))
    },
    async cleanup() {
      await ctx.close()
      await cleanup()
    },
  }
}

/** Flips one byte inside task's counter.txt in the archive, keeping the size. */
export async function flipByte(j: CheckpointJob, id: string, taskId: string): Promise<void> {
  const {primary: store, job} = j.ctx
  const index = JSON.parse((await getBuffer(store, keys.index(job.name, id, taskId))).toString())
  const entry = index.entries.find((e: any) => e.path === 'counter.txt')
  const archive = await getBuffer(store, keys.archive(job.name, id, taskId))
  archive[entry.offset + 3] ^= 0xff
  await store.put(keys.archive(job.name, id, taskId), archive)
}

export async function breakFour(j: CheckpointJob): Promise<void> {
  const {primary: store, job} = j.ctx
  await store.put(keys.manifest(job.name, 'chk-1'), Buffer.from('{"format": 1, "tasks": [ not json'))
  await store.delete(keys.archive(job.name, 'chk-2', 'alpha'))
  const archive = await getBuffer(store, keys.archive(job.name, 'chk-3', 'beta'))
  await store.put(keys.archive(job.name, 'chk-3', 'beta'), archive.subarray(0, archive.length - 700))
  await flipByte(j, 'chk-4', 'alpha')
}
