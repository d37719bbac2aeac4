import assert from 'node:assert/strict'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {parseJobSpec} from '../../../src/core/config/job-file.js'
import {resolveSettings} from '../../../src/core/config/settings.js'
import {parseDuration, parseSize} from '../../../src/core/config/units.js'
import {UsageError} from '../../../src/core/errors.js'
import {writeJob} from '../../helpers/job.js'
import {tempDir} from '../../helpers/primaries.js'

const file = '/jobs/ckpt.json'
const problem = (doc: unknown) => {
  try {
    parseJobSpec(doc, file)
  } catch (error) {
    assert.ok(error instanceof UsageError)
    assert.equal(error.exit, 2)
    return error.message
  }
  assert.fail('expected a UsageError')
}

describe('job file', () => {
  it('resolves relative paths against its folder and fills defaults', () => {
    const spec = parseJobSpec({job: 'orders', tasks: [{id: 'a', stateDir: 'state/a'}]}, file)
    assert.equal(spec.tasks[0].stateDir, '/jobs/state/a')
    assert.deepEqual(spec.retain, {primary: 3, local: 1})
    assert.equal(spec.checkpoint.intervalMs, 30_000)
    assert.equal(spec.checkpoint.timeoutMs, 600_000)
  })

  it('names the field path of every problem', () => {
    assert.match(problem({job: 'x', tasks: [{id: 'a', stateDir: 's'}, {id: 'b'}]}), /tasks\[1\]\.stateDir: required/)
    assert.match(problem({job: 'x', tasks: [{id: 'a', stateDir: 's', colour: 'red'}]}), /tasks\[0\]\.colour: unknown field/)
    assert.match(problem({job: 'x', tasks: [{id: 'a', stateDir: 's'}], extra: 1}), /extra: unknown field/)
    assert.match(
      problem({
        job: 'x',
        tasks: [
          {id: 'a', stateDir: 's'},
          {id: 'a', stateDir: 't'},
        ],
      }),
      /tasks\[1\]\.id: "a" is already the id of tasks\[0\]/,
    )
    assert.match(problem({job: 'x', tasks: [{id: 'a/b', stateDir: 's'}]}), /tasks\[0\]\.id: "a\/b" may only contain letters, digits/)
    assert.match(problem({job: '../x', tasks: [{id: 'a', stateDir: 's'}]}), /job: "\.\.\/x" may only contain/)
    assert.match(problem({tasks: []}), /job: required; tasks: must be a non-empty array/)
    assert.match(problem({job: 'x', checkpoint: {interval: 'soon'}, tasks: [{id: 'a', stateDir: 's'}]}), /checkpoint\.interval: "soon" is not a duration/)
    assert.match(problem({job: 'x', retain: {primary: 0}, tasks: [{id: 'a', stateDir: 's'}]}), /retain\.primary: must be a whole number of at least 1/)
    assert.match(problem({job: 'x', tasks: [{id: 'a', stateDir: 's', command: []}]}), /tasks\[0\]\.command: must be a string/)
    assert.match(problem({job: 'x', tasks: [{id: 'a', stateDir: 's', env: {A: 1}}]}), /tasks\[0\]\.env\.A: must be a string/)
    assert.match(problem([1]), /must be a JSON object/)
  })

  it('parses durations and sizes', () => {
    assert.equal(parseDuration('500ms'), 500)
    assert.equal(parseDuration('30s'), 30_000)
    assert.equal(parseDuration('10m'), 600_000)
    assert.equal(parseDuration('1h'), 3_600_000)
    assert.equal(parseDuration('7d'), 604_800_000)
    assert.equal(parseDuration(250), 250)
    assert.equal(parseDuration('7 weeks'), undefined)
    assert.equal(parseSize('8MiB'), 8 << 20)
    assert.equal(parseSize('1G'), 1 << 30)
    assert.equal(parseSize('500MB'), 500_000_000)
    assert.equal(parseSize('lots'), undefined)
  })

  it('lets flags beat the environment and the environment beat the job file', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const jobFile = await writeJob(dir, {tasks: [{id: 'a'}], primary: 'from-file', localRoots: ['roots/file']})
      const fromFile = await resolveSettings({jobFile}, {})
      assert.equal(fromFile.primaryUrl, path.join(dir, 'from-file'))
      assert.deepEqual(fromFile.localRoots, [path.join(dir, 'roots/file')])
      const env = {CKPT_JOB_FILE: jobFile, CKPT_PRIMARY: '/env/primary', CKPT_LOCAL_ROOTS: '/env/a:/env/b', CKPT_NODE: 'env-node'}
      const fromEnv = await resolveSettings({}, env)
      assert.equal(fromEnv.primaryUrl, '/env/primary')
      assert.deepEqual(fromEnv.localRoots, ['/env/a', '/env/b'])
      assert.equal(fromEnv.node, 'env-node')
      const fromFlags = await resolveSettings({primary: '/flag/primary', localRoots: ['/flag/root'], node: 'flag-node'}, env)
      assert.equal(fromFlags.primaryUrl, '/flag/primary')
      assert.deepEqual(fromFlags.localRoots, ['/flag/root'])
      assert.equal(fromFlags.node, 'flag-node')
      await assert.rejects(resolveSettings({node: 'bad/node'}, env), /node "bad\/node" may only contain/)
    } finally {
      await cleanup()
    }
  })
})
