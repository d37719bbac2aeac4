// `ckpt run` as a real command: the built bin/run.js (npm run build) in a child process.
import assert from 'node:assert/strict'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {collectCli, runCli, startCli} from '../helpers/cli.js'
import {primaryKinds, tempDir} from '../helpers/primaries.js'
import {continuityProblems, counterIn, counterTask, fixture, isAlive, readCounterLog, waitFor, writeJob} from '../helpers/run-job.js'

describe('ckpt run', {timeout: 120_000}, () => {
  let dir: string
  let cleanup: () => Promise<void>
  before(async () => ({dir, cleanup} = await tempDir('ckpt-run-cli-')))
  after(() => cleanup())

  function folder(name: string): string {
    const d = path.join(dir, name)
    mkdirSync(d)
    return d
  }

  for (const kind of primaryKinds) {
    describe(`with a ${kind.name} primary`, () => {
      before(() => kind.setup())
      after(() => kind.teardown())

      it('restores a crashed task from its local copy and it counts on from the checkpoint', async () => {
        const d = folder(`crash-local-${kind.name}`)
        const target = await kind.fresh(d)
        const crashFile = path.join(d, 'crash-a')
        await writeJob(d, [counterTask(d, 'a', {CRASH_FILE: crashFile}), counterTask(d, 'b')])
        const args = ['--primary', target.url, '--json']
        const child = startCli(['run', '--interval', '150ms', '--restart-delay', '10ms', ...args], {cwd: d, env: target.env})
        const result = collectCli(child)
        let notes = ''
        child.stderr!.on('data', (chunk: string) => (notes += chunk))
        await waitFor(
          'two checkpoints',
          () => (notes.match(/checkpoint chk-\d+ completed/g) ?? []).length >= 2,
          30_000,
          () => notes,
        )
        writeFileSync(crashFile, '')
        await waitFor(
          'a restarted and counting',
          () => (readCounterLog(path.join(d, 'a.log'))[1]?.values.length ?? 0) >= 10,
          30_000,
          () => notes,
        )
        child.kill('SIGTERM')
        const r = await result

        assert.equal(r.code, 130, r.stderr)
        assert.deepEqual(r.json.exit, {code: 130, reason: 'stopped by SIGTERM'})
        assert.ok(r.json.checkpoints.length >= 2)
        for (const c of r.json.checkpoints) assert.deepEqual(typeof c.checkpointId + typeof c.durationMs + typeof c.pauseMs + typeof c.bytes, 'stringnumbernumbernumber')
        const recoveries = r.json.recoveries.filter((x: {trigger: string}) => x.trigger === 'failover')
        assert.deepEqual(
          recoveries.map((x: {taskId: string; source: string}) => [x.taskId, x.source]),
          [
            ['a', 'local'],
            ['b', 'local'],
          ],
        )
        const newest = r.json.checkpoints.filter((c: {completedAt: string}) => c.completedAt <= recoveries[0].startedAt).at(-1)
        assert.equal(recoveries[0].checkpointId, newest.checkpointId, 'the newest completed checkpoint is restored')

        const segments = readCounterLog(path.join(d, 'a.log'))
        assert.equal(segments.length, 2)
        assert.deepEqual(continuityProblems(segments), [])
        assert.equal(segments[1].restoredFrom, newest.checkpointId)
        assert.deepEqual(continuityProblems(readCounterLog(path.join(d, 'b.log'))), [])
        // The value the task started from is the one in the checkpoint's primary copy.
        const restored = await runCli(['restore', newest.checkpointId, '--task', 'a', '--prefer', 'remote', ...args], {cwd: d, env: target.env})
        assert.equal(restored.code, 0, restored.stderr)
        assert.equal(segments[1].startValue, counterIn(path.join(d, 'state', 'a')))
      })
    })
  }

  it('ends a crash loop at --max-restarts with exit 1 and says why', async () => {
    const d = folder('crash-loop')
    await writeJob(d, [{id: 'bad', command: [process.execPath, fixture('exit3.mjs')]}, counterTask(d, 'good')])
    const r = await runCli(['run', '--max-restarts', '2', '--restart-delay', '10ms', '--interval', '0'], {cwd: d})

    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stdout, /\[bad\] +exit3: failing on purpose/)
    assert.match(r.stdout, /Run ended after .*: task bad exited with code 3; more than 2 restarts within 10m0s/)
    assert.match(r.stdout, /2 restarts: bad exited with code 3; bad exited with code 3/)
  })

  it('stops every task and its process group on SIGTERM, killing what ignores it after --stop-timeout', async () => {
    const d = folder('sigterm')
    const hangPids = path.join(d, 'hang.pids')
    await writeJob(d, [counterTask(d, 'a'), counterTask(d, 'b'), {id: 'hang', command: [process.execPath, fixture('hang.mjs')], env: {HANG_PIDS: hangPids}}])
    const child = startCli(['run', '--stop-timeout', '3s', '--interval', '100ms', '--json'], {cwd: d})
    const result = collectCli(child)
    const logs = ['a', 'b'].map((id) => path.join(d, `${id}.log`))
    const pidsOf = () => [...logs.flatMap((f) => readCounterLog(f).map((s) => s.pid)), ...(existsSync(hangPids) ? readFileSync(hangPids, 'utf8').split('\n').filter(Boolean).map(Number) : [])]
    await waitFor('every task started', () => pidsOf().length === 4)
    const pids = pidsOf()
    assert.ok(pids.every(isAlive))
    child.kill('SIGTERM')
    const r = await result

    assert.equal(r.code, 130, r.stderr)
    assert.deepEqual(r.json.exit, {code: 130, reason: 'stopped by SIGTERM'})
    assert.deepEqual(pids.filter(isAlive), [], 'no process is left')
    assert.match(r.stderr, /\[hang\] hang: ignoring SIGTERM/)
  })

  it('ends when every task has finished, takes a final checkpoint, and the next run restores it', async () => {
    const d = folder('finished')
    await writeJob(d, [counterTask(d, 'a', {STOP_AT: '15'}), counterTask(d, 'b', {STOP_AT: '15'})], {checkpoint: {interval: '1h'}})
    const first = await runCli(['run', '--checkpoint-on-exit', '--json'], {cwd: d})

    assert.equal(first.code, 0, first.stderr)
    assert.equal(first.json.exit.reason, 'every task finished')
    const final = first.json.checkpoints.at(-1)
    assert.equal(final.trigger, 'exit')
    assert.equal(final.pauseMs, 0, 'finished tasks are not paused')

    const second = await runCli(['run', '--json'], {cwd: d})
    assert.equal(second.code, 0, second.stderr)
    assert.deepEqual(
      second.json.recoveries.map((x: {taskId: string; checkpointId: string; trigger: string}) => [x.taskId, x.checkpointId, x.trigger]),
      [
        ['a', final.checkpointId, 'start'],
        ['b', final.checkpointId, 'start'],
      ],
    )
    const [, again] = readCounterLog(path.join(d, 'a.log'))
    assert.deepEqual([again.restoredFrom, again.startValue, again.values], [final.checkpointId, 15, [16]])
  })
})
