// No decision of a participant depends on its own clock (issue 14 item 7): three participants
// whose clocks are ten minutes apart commit checkpoints with one coordinator, none is taken for
// gone, and when the coordinator is killed another takes its place within the lease.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import * as path from 'node:path'
import type {ChildProcess} from 'node:child_process'
import {setTimeout as sleep} from 'node:timers/promises'
import {repoRoot, startCli} from '../helpers/cli.js'
import {fixture} from '../helpers/run-job.js'

const SKEW = {a: 10 * 60_000, b: -10 * 60_000, c: 0}
// Wide enough that a participant starved on a loaded machine is not taken for gone, nor a checkpoint
// aborted for its slow acks; a clock that counted would be ten minutes out, far past both.
const LEASE_MS = 10_000
const CHECKPOINT_TIMEOUT = '15s'

async function manifests(dir: string): Promise<Array<{checkpointId: string; status: string; tasks: Array<{taskId: string; node: string}>}>> {
  const folder = path.join(dir, 'primary/mn/manifests')
  // only commit records: the file store writes through temporary files beside them
  const names = (await readdir(folder).catch(() => [] as string[])).filter((n) => /^chk-\d+\.json$/.test(n))
  return Promise.all(names.map(async (n) => JSON.parse(await readFile(path.join(folder, n), 'utf8'))))
}

async function coordinators(dir: string): Promise<Array<{term: number; node: string}>> {
  const folder = path.join(dir, 'primary/mn/cluster/coordinator')
  const names = (await readdir(folder).catch(() => [] as string[])).filter((n) => /^\d{8}\.json$/.test(n)).sort()
  return Promise.all(names.map(async (n) => JSON.parse(await readFile(path.join(folder, n), 'utf8'))))
}

async function until<T>(what: string, read: () => Promise<T | undefined>, withinMs: number, logs: () => string): Promise<T> {
  const end = Date.now() + withinMs
  for (;;) {
    const found = await read()
    if (found !== undefined) return found
    if (Date.now() > end) assert.fail(`waited ${withinMs} ms for ${what}\n${logs()}`)
    await sleep(100)
  }
}

test('participants whose clocks are ten minutes apart behave as if they agreed', {timeout: 90_000}, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ckpt-clock-'))
  const procs = new Map<string, ChildProcess>()
  const stderr = new Map<string, string>()
  t.after(async () => {
    // SIGTERM: each run stops its tasks before it exits, so nothing writes into the folder being removed
    await Promise.all([...procs.values()].map((p) => (p.exitCode !== null || p.signalCode !== null ? undefined : new Promise((resolve) => (p.once('exit', resolve), p.kill('SIGTERM'))))))
    await rm(dir, {recursive: true, force: true, maxRetries: 10, retryDelay: 200})
  })
  const task = (id: string, node: string) => ({id, node, stateDir: `state/${id}`, command: [process.execPath, fixture('counter.mjs')], env: {COUNTER_INTERVAL_MS: '50'}})
  await writeFile(
    path.join(dir, 'ckpt.json'),
    JSON.stringify({
      job: 'mn',
      primary: 'primary',
      checkpoint: {interval: '700ms', grace: 0, timeout: CHECKPOINT_TIMEOUT},
      cluster: {lease: `${LEASE_MS}ms`, poll: '200ms'},
      tasks: [task('a1', 'a'), task('b1', 'b'), task('c1', 'c')],
    }),
  )
  const logs = () => [...stderr].map(([n, s]) => `--- ${n}\n${s.split('\n').slice(-15).join('\n')}`).join('\n')
  const start = (node: keyof typeof SKEW) => {
    const proc = startCli(['run', '-j', path.join(dir, 'ckpt.json'), '--node', node, '--json'], {
      cwd: dir,
      env: {CKPT_LOCAL_ROOTS: path.join(dir, `local-${node}`), CKPT_TEST_CLOCK_SKEW_MS: String(SKEW[node]), NODE_OPTIONS: `--import ${path.join(repoRoot, 'test/fixtures/clock-skew.mjs')}`},
    })
    stderr.set(node, '')
    proc.stderr!.on('data', (d: Buffer) => stderr.set(node, stderr.get(node) + d.toString()))
    procs.set(node, proc)
  }
  // a (ten minutes ahead) starts first and becomes the coordinator
  start('a')
  await until('node a to be coordinator', async () => ((await coordinators(dir)).length > 0 ? true : undefined), 15_000, logs)
  start('b')
  start('c')
  await until('three completed checkpoints of every task', async () => ((await manifests(dir)).filter((m) => m.status === 'completed').length >= 3 ? true : undefined), 40_000, logs)
  // nobody took another for gone: one coordinator term, no checkpoint aborted, each task acknowledged by its own node
  assert.deepEqual(
    (await coordinators(dir)).map((c) => c.node),
    ['a'],
  )
  const all = await manifests(dir)
  assert.deepEqual(
    all.filter((m) => m.status !== 'completed').map((m) => m.checkpointId),
    [],
  )
  for (const m of all) assert.deepEqual(m.tasks.map((x) => `${x.taskId}@${x.node}`).sort(), ['a1@a', 'b1@b', 'c1@c'])
  // the coordinator dies: another participant takes over within the lease (plus a few polls), whatever its clock
  const killedAt = Date.now()
  procs.get('a')!.kill('SIGKILL')
  const next = await until('another coordinator', async () => (await coordinators(dir)).find((c) => c.node !== 'a'), LEASE_MS + 5000, logs)
  assert.ok(Date.now() - killedAt <= LEASE_MS + 5000)
  assert.ok(['b', 'c'].includes(next.node))
})
