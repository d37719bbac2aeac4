// Job files and settings that must be refused at load with exit 2, naming the field or both paths
// (issue 11: overlapping paths, long durations, NUL bytes and deep nesting, linked local roots).
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {parseJobSpec} from '../../../src/core/config/job-file.js'
import {resolveSettings} from '../../../src/core/config/settings.js'
import {UsageError} from '../../../src/core/errors.js'
import {resolveRunOptions} from '../../../src/core/runner/options.js'
import {parseDurationFlag} from '../../../src/cli/flags.js'
import {writeJob} from '../../helpers/job.js'
import {tempDir} from '../../helpers/primaries.js'

const file = '/jobs/ckpt.json'
const problem = (doc: unknown) => {
  let thrown: unknown
  try {
    parseJobSpec(doc, file)
  } catch (error) {
    thrown = error
  }
  assert.ok(thrown instanceof UsageError, `expected a UsageError, got ${thrown === undefined ? 'no error' : String(thrown)}`)
  assert.equal(thrown.exit, 2)
  return thrown.message
}
const task = {id: 'a', stateDir: 's'}

/** The UsageError message of resolving settings for a job file, or a failure when it loads. */
async function refusal(jobFile: string, input: {primary?: string; localRoots?: string[]} = {}): Promise<string> {
  let thrown: unknown
  try {
    await resolveSettings({jobFile, node: 'n1', ...input}, {})
  } catch (error) {
    thrown = error
  }
  assert.ok(thrown instanceof UsageError, `expected a UsageError, got ${thrown === undefined ? 'no error' : String(thrown)}`)
  assert.equal(thrown.exit, 2)
  return thrown.message
}

describe('job file values that are not what they claim', () => {
  it('refuses durations longer than a timer can hold, naming the field', () => {
    assert.match(problem({job: 'x', checkpoint: {interval: '30d'}, tasks: [task]}), /checkpoint\.interval: "30d" is longer than .*24d/)
    assert.match(problem({job: 'x', checkpoint: {timeout: 3_000_000_000}, tasks: [task]}), /checkpoint\.timeout: 3000000000 is longer than/)
    assert.match(problem({job: 'x', tasks: [{...task, snapshot: {command: 'true', timeout: '25d'}}]}), /tasks\[0\]\.snapshot\.timeout: "25d" is longer than/)
    assert.match(
      problem({job: 'x', run: {stopTimeout: '40d', restartDelay: '100d'}, tasks: [task]}),
      /run\.restartDelay: "100d" is longer than.*run\.stopTimeout: "40d" is longer than|run\.stopTimeout.*run\.restartDelay/s,
    )
    // Durations compared with times, never fed to a timer, may be long.
    assert.equal(parseJobSpec({job: 'x', checkpoint: {grace: '90d', interval: '24d'}, run: {restartWindow: '60d'}, tasks: [task]}, file).checkpoint.graceMs, 90 * 86_400_000)
  })

  it('refuses run flags longer than a timer can hold (run --duration 30d ended at once)', () => {
    const job = parseJobSpec({job: 'x', tasks: [task]}, file)
    // The CLI parses the flags (cli/flags.ts) and names them; the core checks the numbers it receives.
    assert.throws(
      () => parseDurationFlag('duration', '30d', {timer: true}),
      (e: unknown) => e instanceof UsageError && /--duration 30d: .*longer than/.test(e.message),
    )
    assert.throws(() => parseDurationFlag('interval', '25d', {timer: true}), /--interval 25d: .*longer than/)
    assert.throws(() => parseDurationFlag('stop-timeout', '25d', {timer: true}), /--stop-timeout 25d: .*longer than/)
    assert.throws(
      () => resolveRunOptions(job, {duration: 30 * 86_400_000}),
      (e: unknown) => e instanceof UsageError && /duration .*longer than/.test(e.message) && !e.message.includes('--'),
    )
    assert.equal(resolveRunOptions(job, {duration: parseDurationFlag('duration', '24d', {timer: true}), restartWindow: parseDurationFlag('restart-window', '60d')}).durationMs, 24 * 86_400_000)
  })

  it('refuses NUL bytes in any string, naming the field', () => {
    assert.match(problem({job: 'x', tasks: [{id: 'a', stateDir: 's\u0000t'}]}), /tasks\[0\]\.stateDir: must not contain a NUL byte/)
    assert.match(problem({job: 'x', primary: '/p\u0000q', tasks: [task]}), /primary: must not contain a NUL byte/)
    assert.match(problem({job: 'x', localRoots: ['ok', 'l\u0000'], tasks: [task]}), /localRoots\[1\]: must not contain a NUL byte/)
    assert.match(problem({job: 'x', tasks: [{...task, command: ['node', 'a\u0000b']}]}), /tasks\[0\]\.command: must not contain a NUL byte/)
    assert.match(problem({job: 'x', tasks: [{...task, command: 'echo \u0000'}]}), /tasks\[0\]\.command: must not contain a NUL byte/)
    assert.match(problem({job: 'x', tasks: [{...task, env: {A: 'b\u0000'}}]}), /tasks\[0\]\.env\.A: must not contain a NUL byte/)
    assert.match(problem({job: 'x', tasks: [{...task, env: {'A\u0000B': 'b'}}]}), /tasks\[0\]\.env\."A\\u0000B": a variable name must not contain a NUL byte or '='/)
    assert.match(problem({job: 'x', tasks: [{...task, snapshot: {command: ['a\u0000']}}]}), /tasks\[0\]\.snapshot\.command: must not contain a NUL byte/)
  })

  it('refuses deeply nested arrays where a duration or size belongs, naming the field', () => {
    let deep: unknown = []
    for (let i = 0; i < 200_000; i++) deep = [deep]
    assert.match(problem({job: 'x', checkpoint: {interval: deep}, tasks: [task]}), /checkpoint\.interval: an array is not a duration/)
    assert.match(problem({job: 'x', transfer: {blockSize: deep}, tasks: [task]}), /transfer\.blockSize: an array is not a size/)
    assert.match(problem({job: 'x', retain: {primary: deep}, tasks: [task]}), /retain\.primary: must be a whole number/)
    assert.match(problem({job: 'x', run: {failover: deep}, tasks: [task]}), /run\.failover: must be "job" or "task"/)
  })
})

describe('paths that overlap', () => {
  it('refuses a stateDir that is or contains the primary folder, naming both', async () => {
    const {dir} = await tempDir()
    const jobFile = await writeJob(dir, {tasks: [{id: 'a', stateDir: '.'}], localRoots: ['/var/tmp/elsewhere-roots']})
    const message = await refusal(jobFile, {primary: path.join(dir, '.ckpt', 'primary')})
    assert.match(message, /tasks\[0\]\.stateDir .* contains the primary store/)
    assert.ok(message.includes(path.join(dir, '.ckpt', 'primary')), message)
  })

  it('refuses a stateDir that contains the job file or a local root, and a local root inside a stateDir through a link', async () => {
    const {dir} = await tempDir()
    const jobFile = await writeJob(dir, {tasks: [{id: 'a', stateDir: '.'}], primary: '/var/tmp/elsewhere-primary', localRoots: ['/var/tmp/elsewhere-roots']})
    assert.match(await refusal(jobFile), /tasks\[0\]\.stateDir .* contains the job file/)
    const {dir: dir2} = await tempDir()
    await fs.mkdir(path.join(dir2, 'state', 'a'), {recursive: true})
    await fs.symlink(path.join(dir2, 'state', 'a'), path.join(dir2, 'link'))
    const jobFile2 = await writeJob(dir2, {tasks: [{id: 'a', stateDir: 'state/a'}], localRoots: ['link/roots']})
    const message = await refusal(jobFile2)
    assert.match(message, /tasks\[0\]\.stateDir .* contains the local root/)
    assert.ok(message.includes(path.join(dir2, 'link', 'roots')), message)
  })

  it('refuses a stateDir inside the primary folder or a local root, naming both', async () => {
    const {dir} = await tempDir()
    const inRoot = await writeJob(dir, {tasks: [{id: 'a', stateDir: '.ckpt/local/.snapshot-a'}]})
    assert.match(await refusal(inRoot), /tasks\[0\]\.stateDir .*\.snapshot-a lies inside the local root .*\.ckpt\/local/)
    const inPrimary = await writeJob(dir, {tasks: [{id: 'a', stateDir: 'store/a'}], primary: 'store'})
    assert.match(await refusal(inPrimary), /tasks\[0\]\.stateDir .*store\/a lies inside the primary store .*store/)
  })

  it('refuses two stateDirs nested in each other or equal', async () => {
    const {dir} = await tempDir()
    const nested = await writeJob(dir, {
      tasks: [
        {id: 'a', stateDir: 'state'},
        {id: 'b', stateDir: 'state/b'},
      ],
    })
    assert.match(await refusal(nested), /tasks\[0\]\.stateDir .*state and tasks\[1\]\.stateDir .*state\/b overlap/)
    const {dir: dir2} = await tempDir()
    await fs.mkdir(path.join(dir2, 'real'), {recursive: true})
    await fs.symlink(path.join(dir2, 'real'), path.join(dir2, 'alias'))
    const equal = await writeJob(dir2, {
      tasks: [
        {id: 'a', stateDir: 'real'},
        {id: 'b', stateDir: 'alias/'},
      ],
    })
    assert.match(await refusal(equal), /tasks\[0\]\.stateDir .* and tasks\[1\]\.stateDir .* overlap/)
  })

  it('accepts stateDirs beside each other whose names share a prefix', async () => {
    const {dir} = await tempDir()
    const jobFile = await writeJob(dir, {
      tasks: [
        {id: 'a', stateDir: 'state/a'},
        {id: 'b', stateDir: 'state/ab'},
      ],
    })
    const settings = await resolveSettings({jobFile, node: 'n1'}, {})
    assert.equal(settings.job.tasks.length, 2)
  })
})

describe('local roots', () => {
  it('treats two local roots that are one folder through a link as one', async () => {
    const {dir} = await tempDir()
    await fs.mkdir(path.join(dir, 'roots'), {recursive: true})
    await fs.symlink(path.join(dir, 'roots'), path.join(dir, 'roots-link'))
    const jobFile = await writeJob(dir, {tasks: [{id: 'a'}, {id: 'b'}], localRoots: ['roots', 'roots-link', 'other']})
    const settings = await resolveSettings({jobFile, node: 'n1'}, {})
    assert.deepEqual(settings.localRoots, [path.join(dir, 'roots'), path.join(dir, 'other')])
  })
})
