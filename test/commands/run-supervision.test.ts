// `ckpt run` is the only writer of its job's state on its node (issue 11 item 11): its tasks die
// with it, even when it is killed with SIGKILL while a task is paused for a capture, and a second
// run, a take or a restore of the job on the node is refused while it lives.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {after, before, describe, it} from 'node:test'
import {collectCli, runCli, startCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/primaries.js'
import {counterTask, isAlive, processState, readCounterLog, waitFor, writeJob} from '../helpers/run-job.js'

describe('ckpt run as the one supervisor of its tasks', {timeout: 120_000}, () => {
  let dir: string
  let cleanup: () => Promise<void>
  before(async () => ({dir, cleanup} = await tempDir('ckpt-run-supervision-')))
  after(() => cleanup())

  function folder(name: string): string {
    const d = path.join(dir, name)
    mkdirSync(d)
    return d
  }

  const taskPid = (d: string, id: string) => readCounterLog(path.join(d, `${id}.log`)).at(-1)?.pid

  it('kill -9 of the run while its task runs leaves no task process', async () => {
    const d = folder('kill-running')
    await writeJob(d, [counterTask(d, 'a'), counterTask(d, 'b')])
    const child = startCli(['run', '--interval', '0'], {cwd: d})
    const result = collectCli(child)
    await waitFor('both tasks', () => taskPid(d, 'a') !== undefined && taskPid(d, 'b') !== undefined)
    const pids = [taskPid(d, 'a')!, taskPid(d, 'b')!]
    child.kill('SIGKILL')
    await result
    await waitFor(
      'the tasks to die with the run',
      () => pids.every((pid) => !isAlive(pid)),
      5000,
      () => pids.map((p) => `${p}: ${isAlive(p) ? processState(p) : 'gone'}`).join(', '),
    )
  })

  it('kill -9 of the run while a task is paused for a capture leaves no stopped task behind', async () => {
    const d = folder('kill-paused')
    await writeJob(d, [counterTask(d, 'a')])
    // Many files make the copy under the pause long enough to catch.
    const state = path.join(d, 'state', 'a', 'bulk')
    mkdirSync(state, {recursive: true})
    for (let i = 0; i < 4000; i++) writeFileSync(path.join(state, `f${i}`), randomBytes(2048))
    const child = startCli(['run', '--interval', '200ms', '--fresh'], {cwd: d})
    const result = collectCli(child)
    await waitFor('the task', () => taskPid(d, 'a') !== undefined)
    const pid = taskPid(d, 'a')!
    await waitFor('the task paused for a capture', () => isAlive(pid) && processState(pid) === 'T', 30_000)
    child.kill('SIGKILL')
    await result
    await waitFor(
      'the paused task to die with the run',
      () => !isAlive(pid),
      5000,
      () => (isAlive(pid) ? processState(pid) : 'gone'),
    )
  })

  it("kill -9 of the run while paused leaves no stopped descendant that had left the task's group", async () => {
    const d = folder('kill-paused-stray')
    const strayFile = path.join(d, 'stray.pid')
    // The task starts a child in a session of its own (as PostgreSQL's backends do), then waits.
    const command = `setsid sh -c 'echo $$ > ${strayFile}; while :; do sleep 0.2; done' & while :; do sleep 0.2; done`
    await writeJob(d, [{id: 'a', command}])
    const state = path.join(d, 'state', 'a', 'bulk')
    mkdirSync(state, {recursive: true})
    for (let i = 0; i < 4000; i++) writeFileSync(path.join(state, `f${i}`), randomBytes(2048))
    const child = startCli(['run', '--interval', '200ms', '--fresh'], {cwd: d})
    const result = collectCli(child)
    let stray: number | undefined
    const readStray = () => {
      try {
        return Number(readFileSync(strayFile, 'utf8').trim())
      } catch {
        return undefined // not written yet
      }
    }
    await waitFor('the stray', () => (stray = readStray()) !== undefined && stray > 0, 15_000)
    await waitFor('the stray stopped for a capture', () => isAlive(stray!) && processState(stray!) === 'T', 30_000)
    child.kill('SIGKILL')
    await result
    await waitFor(
      'the stopped stray to die with the run',
      () => !isAlive(stray!),
      5000,
      () => (isAlive(stray!) ? processState(stray!) : 'gone'),
    )
  })

  it('refuses a second run, a take and a restore of the job on this node while the run lives, naming its pid', async () => {
    const d = folder('one-run')
    await writeJob(d, [counterTask(d, 'a')])
    mkdirSync(path.join(d, 'state', 'a'), {recursive: true})
    const taken = await runCli(['checkpoint', 'take'], {cwd: d})
    assert.equal(taken.code, 0, taken.stderr)
    const child = startCli(['run', '--interval', '0'], {cwd: d})
    const result = collectCli(child)
    await waitFor('the task', () => taskPid(d, 'a') !== undefined)
    const named = new RegExp(`'ckpt run' \\(pid ${child.pid}, started [^)]+\\) runs job runner on node test-node`)

    const second = await runCli(['run', '--interval', '0', '--json'], {cwd: d})
    assert.equal(second.code, 1, second.stdout + second.stderr)
    assert.equal(second.json.error.code, 'RUN_ACTIVE')
    assert.match(second.json.error.message, named)
    const take = await runCli(['checkpoint', 'take', '--json'], {cwd: d})
    assert.equal(take.code, 1, take.stdout)
    assert.match(take.json.error.message, named)
    assert.match(take.json.error.message, /Stop the run \(kill -TERM \d+\) or let it take checkpoints/)
    const restore = await runCli(['restore'], {cwd: d})
    assert.equal(restore.code, 1, restore.stderr)
    assert.match(restore.stderr, named)
    const plan = await runCli(['restore', '--plan'], {cwd: d})
    assert.equal(plan.code, 0, plan.stderr)
    assert.equal(readCounterLog(path.join(d, 'a.log')).length, 1, 'no second instance of the task was started')

    // The record of a run killed -9 is not live: the next run starts.
    child.kill('SIGKILL')
    await result
    await sleep(100)
    const next = await runCli(['run', '--interval', '0', '--duration', '1s', '--json'], {cwd: d})
    assert.equal(next.code, 0, next.stdout + next.stderr)
  })
})
