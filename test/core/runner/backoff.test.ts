import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parseJobSpec} from '../../../src/core/config/job-file.js'
import {MAX_DELAY_MS, RestartBudget} from '../../../src/core/runner/backoff.js'
import {resolveRunOptions} from '../../../src/core/runner/options.js'
import {parseDurationFlag} from '../../../src/cli/flags.js'

describe('restart budget', () => {
  it('doubles the delay per restart within the window and refuses one more than maxRestarts', () => {
    const budget = new RestartBudget(3, 10_000, 100)
    assert.deepEqual(
      [0, 1, 2].map((t) => budget.record(t).delayMs),
      [100, 200, 400],
    )
    const fourth = budget.record(3)
    assert.equal(fourth.allowed, false)
    assert.match(fourth.reason!, /more than 3 restarts within 10.0s/)
  })

  it('forgets restarts older than the window and caps the delay', () => {
    const budget = new RestartBudget(2, 1000, 50_000)
    budget.record(0)
    assert.equal(budget.record(500).delayMs, MAX_DELAY_MS)
    const later = budget.record(1600)
    assert.equal(later.allowed, true)
    assert.equal(later.count, 1)
  })

  it('with --max-restarts 0 ends the run at the first failure', () => {
    assert.equal(new RestartBudget(0, 1000, 10).record().allowed, false)
  })
})

describe('run options', () => {
  const job = parseJobSpec({job: 'j', checkpoint: {interval: '5s'}, run: {failover: 'task', maxRestarts: 2, stopTimeout: '3s'}, tasks: [{id: 'a', stateDir: 's'}]}, '/tmp/ckpt.json')

  it('takes the job file run section as defaults and lets flags beat it', () => {
    const fromFile = resolveRunOptions(job)
    assert.deepEqual([fromFile.intervalMs, fromFile.failover, fromFile.maxRestarts, fromFile.stopTimeoutMs, fromFile.restartDelayMs], [5000, 'task', 2, 3000, 1000])
    const fromFlags = resolveRunOptions(job, {interval: 250, failover: 'job', maxRestarts: 0, stopTimeout: 100})
    assert.deepEqual([fromFlags.intervalMs, fromFlags.failover, fromFlags.maxRestarts, fromFlags.stopTimeoutMs], [250, 'job', 0, 100])
  })

  it('refuses a bad duration with a usage error that names the flag', () => {
    // The CLI parses the flag and names it; the core receives milliseconds.
    assert.throws(
      () => parseDurationFlag('restart-delay', 'soon'),
      (e: Error & {exit?: number}) => e.exit === 2 && /--restart-delay "soon"/.test(e.message),
    )
  })
})
