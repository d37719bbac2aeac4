#!/usr/bin/env node
// The main job, end to end on the embedded file store: run two counter tasks, take checkpoints
// while they run (paused for the capture), break one task's state and kill the other, then
// restore local first, printing the plan, and start them again from the checkpoint.
import {spawn, spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const bin = path.join(here, '..', '..', 'bin', 'run.js')
const job = JSON.parse(fs.readFileSync(path.join(here, 'ckpt.json'), 'utf8'))
const env = {...process.env, CKPT_NODE: process.env.CKPT_NODE ?? 'demo-node'}

function step(text) {
  console.log(`\n== ${text}`)
}

function ckpt(...args) {
  console.log(`$ ckpt ${args.join(' ')}`)
  const result = spawnSync(process.execPath, [bin, ...args], {cwd: here, env, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8'})
  if (!args.includes('--json')) process.stdout.write(result.stdout)
  if (result.status !== 0) throw new Error(`ckpt ${args.join(' ')} exited with ${result.status}`)
  return args.includes('--json') ? JSON.parse(result.stdout) : result.stdout
}

function start(task, restoredFrom = '') {
  const child = spawn(task.command[0], task.command.slice(1), {
    cwd: here,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {...env, CKPT_TASK_ID: task.id, CKPT_STATE_DIR: path.join(here, task.stateDir), CKPT_RESTORED_FROM: restoredFrom, COUNTER_INTERVAL_MS: '20'},
  })
  for (const stream of [child.stdout, child.stderr]) stream.on('data', (d) => process.stdout.write(String(d).replace(/^(?=.)/gm, `[${task.id}] `)))
  child.exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({code, signal})))
  return child
}

const count = (task) => {
  try {
    return JSON.parse(fs.readFileSync(path.join(here, task.stateDir, 'count.json'), 'utf8')).count
  } catch {
    return 0
  }
}

/** Pauses the tasks' process groups for the capture, as 'ckpt run' does. */
function takeWhilePaused(children) {
  for (const c of children) process.kill(-c.pid, 'SIGSTOP')
  try {
    return ckpt('checkpoint', 'take', '--json')
  } finally {
    for (const c of children) process.kill(-c.pid, 'SIGCONT')
  }
}

step('fresh start: removing old state and stores of the demo')
for (const dir of ['state', '.ckpt']) fs.rmSync(path.join(here, dir), {recursive: true, force: true})
for (const task of job.tasks) fs.mkdirSync(path.join(here, task.stateDir), {recursive: true})

step('starting the tasks')
let children = job.tasks.map((task) => start(task))
await sleep(1500)

step('taking two checkpoints while the tasks run')
takeWhilePaused(children)
await sleep(800)
const second = takeWhilePaused(children)
const atCheckpoint = Object.fromEntries(job.tasks.map((t) => [t.id, second.tasks.find((x) => x.taskId === t.id)]))
console.log(`checkpoint ${second.checkpointId}: ${second.tasks.map((t) => `${t.taskId} ${t.bytes} bytes, secondary ${t.secondary}`).join('; ')}`)
await sleep(500)

step("disaster: counter-1 is killed with SIGKILL, counter-0 loses part of its log, and a byte of counter-0's secondary copy rots")
process.kill(-children[1].pid, 'SIGKILL')
process.kill(-children[0].pid, 'SIGTERM')
await Promise.all(children.map((c) => c.exited))
const log0 = path.join(here, job.tasks[0].stateDir, 'events.log')
fs.truncateSync(log0, Math.floor(fs.statSync(log0).size / 2))
const copy = path.join(here, '.ckpt', 'local', env.CKPT_NODE, job.job, 'counter-0', second.checkpointId, 'state', 'events.log')
const rotten = fs.readFileSync(copy)
rotten[10] ^= 0x20
fs.writeFileSync(copy, rotten)
const broken = spawnSync(process.execPath, [path.join(here, 'counter.mjs')], {
  env: {...env, CKPT_STATE_DIR: path.join(here, job.tasks[0].stateDir), CKPT_TASK_ID: 'counter-0'},
  encoding: 'utf8',
  timeout: 5000,
})
console.log(`counter-0 on its broken state: exit ${broken.status}: ${broken.stderr.trim()}`)

step("the restore plan: local first, verified against the manifest's digests")
ckpt('restore', '--plan')

step('restoring')
const restored = ckpt('restore', '--json')
for (const t of restored.tasks) console.log(`${t.taskId}: ${t.source} (${t.localBytes} bytes local, ${t.remoteBytes} bytes from the primary) — ${t.reason}`)

step('starting the tasks again from the restored state')
const counts = Object.fromEntries(job.tasks.map((t) => [t.id, count(t)]))
children = job.tasks.map((task) => start(task, restored.checkpointId))
await sleep(1000)
for (const c of children) process.kill(-c.pid, 'SIGTERM')
const exits = await Promise.all(children.map((c) => c.exited))

step('ckpt run: the supervisor restores, checkpoints every second, and recovers counter-1 (it crashes once, on purpose) local first')
console.log('$ ckpt run --duration 6s --interval 1s --json')
const run = spawnSync(process.execPath, [bin, 'run', '--duration', '6s', '--interval', '1s', '--json'], {cwd: here, env, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8'})
const summary = JSON.parse(run.stdout)
for (const c of summary.checkpoints) console.log(`checkpoint ${c.checkpointId}: ${c.durationMs}ms, tasks paused ${c.pauseMs}ms, ${c.bytes} bytes`)
for (const r of summary.recoveries) console.log(`recovery of ${r.taskId} from ${r.checkpointId}: ${r.source} in ${r.durationMs}ms`)
console.log(`run exit: ${summary.exit.code} (${summary.exit.reason})`)
const failover = summary.recoveries.find((r) => r.taskId === 'counter-1' && r.trigger === 'failover')

step('what the stores hold now')
ckpt('checkpoint', 'list')
ckpt('local', 'list')

const resumed = exits.every((e) => e.code === 0) && job.tasks.every((t) => counts[t.id] > 0 && count(t) > counts[t.id])
const recovered = run.status === 0 && failover?.source === 'local'
console.log(`\n${resumed ? 'OK' : 'FAILED'}: both tasks resumed from ${restored.checkpointId} (${job.tasks.map((t) => `${t.id} at ${counts[t.id]}`).join(', ')}) and counted on.`)
console.log(`${recovered ? 'OK' : 'FAILED'}: under ckpt run, counter-1 crashed and was recovered from ${failover?.checkpointId ?? '?'} (${failover?.source ?? 'no recovery'}).`)
const ok = resumed && recovered
void atCheckpoint
process.exit(ok ? 0 : 1)
