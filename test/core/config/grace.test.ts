// checkpoint.grace must be at least twice checkpoint.timeout (a take commits within half the grace
// period of its claim, and prune relies on it), unless it is 0.
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import {describe, it} from 'node:test'
import {parseJobSpec} from '../../../src/core/config/job-file.js'
import {UsageError} from '../../../src/core/errors.js'

const file = '/jobs/ckpt.json'
const task = {id: 'a', stateDir: 's'}
const parse = (checkpoint: Record<string, unknown>) => parseJobSpec({job: 'x', checkpoint, tasks: [task]}, file).checkpoint

describe('checkpoint.grace against checkpoint.timeout', () => {
  it('refuses a grace period under twice the timeout, naming both and the fix (exit 2)', () => {
    for (const [checkpoint, pattern] of [
      [{grace: '15m'}, /checkpoint\.grace: 15m is less than twice checkpoint\.timeout \(10m, its default\).*at least 20m or checkpoint\.timeout to at most 450s/],
      [{grace: '1h', timeout: '45m'}, /checkpoint\.grace: 1h is less than twice checkpoint\.timeout \(45m\).*at least 90m or checkpoint.timeout to at most 30m/],
    ] as const) {
      assert.throws(
        () => parse(checkpoint),
        (error: unknown) => error instanceof UsageError && error.exit === 2 && pattern.test(error.message),
      )
    }
  })

  it('accepts twice the timeout or more, and 0', () => {
    assert.equal(parse({grace: '20m'}).graceMs, 1_200_000)
    assert.equal(parse({grace: '1h', timeout: '30m'}).graceMs, 3_600_000)
    assert.equal(parse({grace: 0, timeout: '1h'}).graceMs, 0)
    assert.equal(parse({}).graceMs, 3_600_000)
  })

  it('every example job file still loads', async () => {
    for (const name of ['examples/counter/ckpt.json', 'examples/postgres/ckpt.json', 'examples/postgres/ckpt.basebackup.json']) {
      const doc = JSON.parse(await fs.readFile(name, 'utf8'))
      assert.doesNotThrow(() => parseJobSpec(doc, `/work/${name}`), name)
    }
  })
})
