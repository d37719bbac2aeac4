import assert from 'node:assert/strict'
import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import type {JobContext} from '../../../src/core/context.js'
import {restoreJob} from '../../../src/core/restore/restore.js'
import {startRun, type RunHooks} from '../../../src/core/runner/supervisor.js'
import type {RunSummary} from '../../../src/core/runner/summary.js'
import type {PrimaryStore} from '../../../src/core/stores/store.js'
import {tempDir} from '../../helpers/primaries.js'
import {continuityProblems, counterIn, counterTask, isAlive, openTestJob, processState, readCounterLog, waitFor, writeJob} from '../../helpers/run-job.js'

/** The newest checkpoint that completed before a recovery began: the one it must restore. */
function newestBefore(summary: RunSummary, startedAt: string): string | undefined {
  return summary.checkpoints.filter((c) => c.completedAt <= startedAt).at(-1)?.checkpointId
}

/** Delays every archive upload: a primary that is slow to write. */
function slowPrimary(store: PrimaryStore, delayMs: number): PrimaryStore {
  return {
    displayUrl: store.displayUrl,
    properties: store.properties,
    // The bulk of a take is slow: format 1's archives, format 2's packs.
    createIfAbsent: async (key, body, options) => {
      if (key.includes('/packs/')) await sleep(delayMs)
      return store.createIfAbsent(key, body, options)
    },
    put: async (key, body, options) => {
      if (key.endsWith('.tar')) await sleep(delayMs)
      return store.put(key, body, options)
    },
    get: (key, options) => store.get(key, options),
    stat: (key) => store.stat(key),
    list: (prefix) => store.list(prefix),
    delete: (key) => store.delete(key),
    close: () => store.close(),
  }
}

describe('ckpt run supervisor (core)', {timeout: 60_000}, () => {
  let dir: string
  let cleanup: () => Promise<void>
  const contexts: JobContext[] = []
  before(async () => ({dir, cleanup} = await tempDir('ckpt-run-core-')))
  after(async () => {
    for (const ctx of contexts) await ctx.close()
    await cleanup()
  })

  async function job(name: string, tasks: (d: string) => ReturnType<typeof counterTask>[]): Promise<{ctx: JobContext; d: string}> {
    const d = path.join(dir, name)
    mkdirSync(d)
    const ctx = await openTestJob(await writeJob(d, tasks(d)))
    contexts.push(ctx)
    return {ctx, d}
  }

  it('restores a crashed task from the primary when its local copy is gone, and it counts on from the checkpoint', async () => {
    const {ctx, d} = await job('remote', (d) => [counterTask(d, 'a', {CRASH_FILE: path.join(d, 'crash-a')})])
    const localDir = ctx.secondary.layout.taskDir(ctx.secondary.roots[0], 'a')
    let taken = 0
    const hooks: RunHooks = {
      onCheckpoint: (record) => {
        rmSync(localDir, {recursive: true, force: true})
        if (record.bytes > 0 && ++taken === 2) writeFileSync(path.join(d, 'crash-a'), '')
      },
    }
    const run = startRun(ctx, {interval: 150, restartDelay: 10, stopTimeout: 2000}, hooks)
    await waitFor('a restarted and counting', () => (readCounterLog(path.join(d, 'a.log'))[1]?.values.length ?? 0) >= 10)
    run.stop('SIGTERM')
    const summary = await run.done

    assert.equal(summary.exit.code, 130)
    const recoveries = summary.recoveries.filter((r) => r.trigger === 'failover')
    assert.equal(recoveries.length, 1)
    assert.equal(recoveries[0].taskId, 'a')
    assert.equal(recoveries[0].source, 'remote')
    assert.equal(recoveries[0].checkpointId, newestBefore(summary, recoveries[0].startedAt))
    const segments = readCounterLog(path.join(d, 'a.log'))
    assert.equal(segments.length, 2)
    assert.deepEqual(continuityProblems(segments), [])
    assert.equal(segments[1].restoredFrom, recoveries[0].checkpointId)
    await restoreJob(ctx, {checkpointId: recoveries[0].checkpointId, taskIds: ['a'], preferRemote: true})
    assert.equal(segments[1].startValue, counterIn(ctx.job.tasks[0].stateDir))
    assert.ok(segments[1].startValue > 0)
  })

  it('with --failover task restores and restarts only the failed task; the others keep their process', async () => {
    const {ctx, d} = await job('task-failover', (d) => [counterTask(d, 'a', {CRASH_FILE: path.join(d, 'crash-a')}), counterTask(d, 'b')])
    const pids = new Map<string, number[]>()
    let taken = 0
    const hooks: RunHooks = {
      onTaskStart: ({taskId, pid}) => pids.set(taskId, [...(pids.get(taskId) ?? []), pid!]),
      onCheckpoint: () => void (++taken === 2 && writeFileSync(path.join(d, 'crash-a'), '')),
    }
    const run = startRun(ctx, {interval: 150, failover: 'task', restartDelay: 10}, hooks)
    await waitFor('a restarted and counting', () => (readCounterLog(path.join(d, 'a.log'))[1]?.values.length ?? 0) >= 10)
    const bPid = pids.get('b')![0]
    assert.ok(isAlive(bPid), 'b still runs')
    run.stop('SIGINT')
    const summary = await run.done

    assert.equal(summary.exit.code, 130)
    assert.deepEqual(pids.get('b'), [bPid])
    assert.equal(pids.get('a')!.length, 2)
    const b = readCounterLog(path.join(d, 'b.log'))
    assert.equal(b.length, 1, 'b was never restarted')
    assert.deepEqual(continuityProblems(b), [])
    const failovers = summary.recoveries.filter((r) => r.trigger === 'failover')
    assert.deepEqual(
      failovers.map((r) => [r.taskId, r.source]),
      [['a', 'local']],
    )
    assert.deepEqual(continuityProblems(readCounterLog(path.join(d, 'a.log'))), [])
    assert.deepEqual(
      summary.tasks.map((t) => [t.taskId, t.starts]),
      [
        ['a', 2],
        ['b', 1],
      ],
    )
  })

  it('resumes a paused task when its capture fails', async () => {
    const {ctx, d} = await job('capture-fails', (d) => [counterTask(d, 'a')])
    // A regular file where the scratch folder should be: every capture fails while the task is paused.
    mkdirSync(ctx.secondary.roots[0], {recursive: true})
    writeFileSync(path.join(ctx.secondary.roots[0], '.ckpt-scratch'), 'not a folder')
    let pid = 0
    const statesAfterFailure: string[] = []
    const countsAtFailure: number[] = []
    const hooks: RunHooks = {
      onTaskStart: (e) => void (pid = e.pid!),
      onWarning: () => {
        // The counter logs once node has loaded it, which on a loaded machine comes after the first failures.
        const values = readCounterLog(path.join(d, 'a.log'))[0]?.values.length ?? 0
        if (values === 0) return
        statesAfterFailure.push(processState(pid))
        countsAtFailure.push(values)
        // Failures come every 100 ms, faster than a starved counter may tick: stop once it has counted on.
        if (countsAtFailure.length >= 3 && countsAtFailure.at(-1)! > countsAtFailure[0]) run.stop('SIGTERM')
      },
    }
    const run = startRun(ctx, {interval: 100}, hooks)
    // A pause left in place would freeze the counter, and the run would never be stopped above.
    const watchdog = setTimeout(() => run.stop('SIGTERM'), 30_000)
    const summary = await run.done
    clearTimeout(watchdog)

    assert.equal(summary.exit.code, 130)
    // A checkpoint may complete only once the run has stopped the task (nothing to pause then).
    assert.ok(
      summary.checkpoints.every((c) => c.pauseMs === 0),
      'no checkpoint captured the running task',
    )
    assert.ok(summary.failedCheckpoints.length >= 3, `${summary.failedCheckpoints.length} failed checkpoints`)
    for (const f of summary.failedCheckpoints.slice(0, 3)) assert.match(f.reason, /while it was paused/)
    assert.ok(!statesAfterFailure.includes('T'), `process states after failed captures: ${statesAfterFailure}`)
    // The task counted on between failed captures: every pause ended.
    assert.ok(countsAtFailure.length >= 3 && countsAtFailure.at(-1)! > countsAtFailure[0], `values written at each failure: ${countsAtFailure}`)
    assert.deepEqual(
      summary.tasks.map((t) => t.starts),
      [1],
    )
  })

  it('reports a pause that does not include the primary upload', async () => {
    const {ctx, d} = await job('slow-primary', (d) => [counterTask(d, 'a'), counterTask(d, 'b')])
    // Content from the start, so that the first checkpoint has a pack to put even when the counters
    // have not written yet (a loaded machine).
    for (const id of ['a', 'b']) {
      mkdirSync(path.join(d, 'state', id), {recursive: true})
      writeFileSync(path.join(d, 'state', id, 'seed.txt'), `seed of ${id}\n`)
    }
    // A pause that included the upload would last at least the upload's delay; the margin below it
    // is for a loaded machine, where stopping, copying and resuming two tasks can take a while.
    const uploadMs = 3000
    const slow = {...ctx, primary: slowPrimary(ctx.primary, uploadMs)}
    const run = startRun(slow, {interval: 200}, {onCheckpoint: () => run.stop('SIGTERM')})
    const summary = await run.done

    assert.equal(summary.checkpoints.length, 1)
    const [checkpoint] = summary.checkpoints
    assert.ok(checkpoint.durationMs >= uploadMs, `checkpoint took ${checkpoint.durationMs}ms`)
    assert.ok(checkpoint.pauseMs < uploadMs, `paused ${checkpoint.pauseMs}ms`)
    assert.ok(
      checkpoint.tasks.every((t) => t.pauseMs > 0 && t.pauseMs < uploadMs),
      JSON.stringify(checkpoint.tasks),
    )
    assert.ok(summary.skippedCheckpoints >= 2, 'ticks during the slow checkpoint are skipped')
    assert.equal(summary.pause.maxMs, checkpoint.pauseMs)
    assert.deepEqual(continuityProblems(readCounterLog(path.join(d, 'a.log'))), [])
  })

  it('ends with the restore error and leaves no task running when a failover cannot restore', async () => {
    const {ctx, d} = await job('restore-fails', (d) => [counterTask(d, 'a', {CRASH_FILE: path.join(d, 'crash-a')}), counterTask(d, 'b')])
    const pids = new Map<string, number>()
    let taken = 0
    const hooks: RunHooks = {
      onTaskStart: ({taskId, pid}) => void pids.set(taskId, pid!),
      onCheckpoint: () => {
        if (++taken < 2) return
        // Every copy of every checkpoint is gone: no restore can succeed.
        rmSync(path.join(ctx.settings.primaryUrl, 'runner', 'data'), {recursive: true, force: true})
        rmSync(path.join(ctx.secondary.roots[0], 'test-node'), {recursive: true, force: true})
        writeFileSync(path.join(d, 'crash-a'), '')
      },
    }
    const summary = await startRun(ctx, {interval: 150, failover: 'task', restartDelay: 10}, hooks).done

    assert.equal(summary.exit.code, 4)
    assert.match(summary.exit.reason, /recovery of task a failed/)
    assert.ok(!isAlive(pids.get('b')!), 'b was stopped')
    assert.ok(!isAlive(pids.get('a')!))
  })
})
