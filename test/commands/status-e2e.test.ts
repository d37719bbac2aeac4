// `ckpt status` of a job that real participants run (issue 14 item 6): two `ckpt run --node`
// processes, each with its own local root, and `ckpt status --json` showing both live with their
// tasks, a coordinator, and a completed checkpoint that every task acknowledged.
import assert from 'node:assert/strict'
import type {ChildProcess} from 'node:child_process'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {collectCli, runCli, startCli, type CliResult} from '../helpers/cli.js'
import {tempDir} from '../helpers/primaries.js'

const TICK = ['sh', '-c', 'while true; do date +%s%N > "$CKPT_STATE_DIR/tick"; sleep 0.2; done']

describe('ckpt status of two running participants', {timeout: 180_000}, () => {
  let dir: string
  let cleanup: () => Promise<void>
  const runs: ChildProcess[] = []
  before(async () => ({dir, cleanup} = await tempDir('ckpt-status-e2e-')))
  after(async () => {
    for (const child of runs) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await cleanup()
  })

  it('shows both participants live with their tasks, a coordinator and a checkpoint every task acknowledged', async () => {
    const tasks = ['alpha', 'beta'].map((id, i) => ({id, stateDir: `state/${id}`, command: TICK, node: ['a', 'b'][i]}))
    for (const t of tasks) await fs.mkdir(path.join(dir, t.stateDir), {recursive: true})
    await fs.writeFile(path.join(dir, 'ckpt.json'), JSON.stringify({job: 'spread', primary: './primary', cluster: {lease: '15s', poll: '1s'}, tasks}, null, 2))
    const participant = (node: string) => startCli(['run', '--node', node, '--interval', '1s', '--json'], {cwd: dir, env: {CKPT_NODE: undefined, CKPT_LOCAL_ROOTS: path.join(dir, `local-${node}`)}})
    runs.push(participant('a'), participant('b'))
    const ended = runs.map((child) => collectCli(child, 170_000))

    let last: CliResult | undefined
    const ready = (s: any) =>
      s?.participants?.length === 2 &&
      s.participants.every((p: any) => p.live) &&
      s.coordinator !== undefined &&
      s.checkpoints.some((c: any) => c.status === 'completed' && c.announced && c.acknowledged === c.of && c.of === 2)
    for (const deadline = Date.now() + 90_000; Date.now() < deadline && !ready(last?.json); await sleep(500)) {
      // until a participant has made the folder primary, status refuses it as mistyped (exit 5)
      last = await runCli(['status', '--json'], {cwd: dir, env: {CKPT_NODE: 'observer'}})
    }
    const s = last!.json
    assert.equal(last!.code, 0, last!.stdout + last!.stderr)
    assert.ok(ready(s), `no completed checkpoint with both participants live within 90 s:\n${JSON.stringify(s, null, 1)}`)
    assert.equal(s.clock, 'store')
    assert.deepEqual(
      s.participants.map((p: any) => [p.node, p.tasks, p.live]),
      [
        ['a', ['alpha'], true],
        ['b', ['beta'], true],
      ],
    )
    assert.ok(['a', 'b'].includes(s.coordinator.node))
    assert.deepEqual(
      s.participants.filter((p: any) => p.coordinator).map((p: any) => p.node),
      [s.coordinator.node],
    )
    const completed = s.checkpoints.find((c: any) => c.status === 'completed' && c.announced)
    assert.deepEqual(completed.acks.map((a: any) => [a.taskId, a.node]).sort(), [
      ['alpha', 'a'],
      ['beta', 'b'],
    ])
    assert.deepEqual(
      s.tasks.map((t: any) => [t.taskId, t.node]),
      [
        ['alpha', 'a'],
        ['beta', 'b'],
      ],
    )

    const table = await runCli(['status'], {cwd: dir, env: {CKPT_NODE: 'observer'}})
    assert.equal(table.code, 0, table.stderr)
    assert.match(table.stdout, /^Job spread, epoch \d+, coordinator [ab] \(term \d+\)$/m)
    assert.match(table.stdout, /^a {2,}alpha {2,}live /m)
    assert.match(table.stdout, /^b {2,}beta {2,}live /m)

    for (const child of runs) child.kill('SIGTERM')
    for (const result of await Promise.all(ended)) assert.equal(result.code, 130, result.stderr)
    // once both have left, neither is live and there is no coordinator
    const afterwards = await runCli(['status', '--json'], {cwd: dir, env: {CKPT_NODE: 'observer'}})
    assert.equal(afterwards.code, 0, afterwards.stderr)
    assert.deepEqual(
      afterwards.json.participants.map((p: any) => p.live),
      [false, false],
    )
    assert.equal(afterwards.json.coordinator, undefined)
  })
})
