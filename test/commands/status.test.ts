// `ckpt status` as people and scripts use it (issue 14 item 6): the built CLI on a store whose
// many-node records were written by hand; a table on stdout, one JSON document with --json, exit 2
// for a bad job file and exit 5 for an Azure primary that cannot be reached.
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {runCli} from '../helpers/cli.js'
import {checkpointJob, type CheckpointJob} from '../helpers/checkpoints.js'
import {ClusterRecords} from '../helpers/hand-cluster-records.js'
import {writeJob} from '../helpers/job.js'
import {fileKind, tempDir} from '../helpers/primaries.js'
import {clusterKeys} from '../../src/core/format/keys.js'

describe('ckpt status', () => {
  let j: CheckpointJob
  before(async () => {
    await fileKind.setup()
    j = await checkpointJob(fileKind, {tasks: ['alpha', 'beta'], extra: {cluster: {lease: '10m', poll: '1s'}}})
    await j.take(1)
    const r = new ClusterRecords(j.ctx.primary, j.ctx.job)
    await r.participant('gone', {tasks: ['beta'], copies: {beta: 'chk-1'}})
    const old = new Date(Date.now() - 3600_000)
    await fs.utimes(path.join(j.target.url, ...clusterKeys.participant('testjob', 'gone').split('/')), old, old)
    await r.participant('node-a', {tasks: ['alpha'], copies: {alpha: 'chk-1'}})
    await r.owner('alpha', 1, 'node-a')
    await r.owner('beta', 1, 'gone')
    await r.coordinator(1, 'node-a')
    await r.announce('chk-2', 0, 'node-a')
    await r.ack('chk-2', 'alpha', 'node-a', 0)
  })
  after(async () => {
    await j?.cleanup()
    await fileKind.teardown()
  })

  it('prints participants, checkpoints and tasks as tables without --json', async () => {
    const result = await runCli(['status'], {cwd: j.dir, env: j.target.env})
    assert.equal(result.code, 0, result.stderr)
    const lines = result.stdout.split('\n')
    assert.equal(lines[0], 'Job testjob, epoch 0, coordinator node-a (term 1)')
    const row = (first: string) => lines.find((line) => line.startsWith(`${first} `))?.split(/\s{2,}/)
    assert.deepEqual(row('node')?.slice(0, 4), ['node', 'tasks', 'state', 'heartbeat'])
    assert.deepEqual(row('node-a')?.slice(0, 3), ['node-a', 'alpha', 'live'])
    assert.deepEqual(row('gone')?.slice(0, 3), ['gone', 'beta', 'stale'])
    assert.deepEqual(row('chk-2'), ['chk-2', 'open', '0', '1/2', '2'])
    assert.deepEqual(row('chk-1'), ['chk-1', 'completed', '0', '-', '2'])
    assert.deepEqual(row('alpha'), ['alpha', 'node-a', 'chk-1 on node-a'])
    assert.deepEqual(row('beta'), ['beta', '-', 'chk-1 on gone'])
    assert.doesNotMatch(result.stdout, /\u001B\[/, 'NO_COLOR: no colour codes')
  })

  it('prints one JSON document with --json', async () => {
    const result = await runCli(['status', '--json'], {cwd: j.dir, env: j.target.env})
    assert.equal(result.code, 0, result.stderr)
    const s = result.json
    assert.deepEqual(Object.keys(s).sort(), ['checkpoints', 'clock', 'coordinator', 'epoch', 'job', 'now', 'participants', 'tasks'])
    assert.deepEqual([s.job, s.clock, s.epoch], ['testjob', 'store', 0])
    assert.deepEqual(Object.keys(s.coordinator).sort(), ['heartbeatAt', 'node', 'term'])
    assert.deepEqual(
      s.participants.map((p: any) => Object.keys(p).sort()),
      [
        ['ageMs', 'coordinator', 'epoch', 'heartbeatAt', 'host', 'live', 'node', 'pid', 'tasks'],
        ['ageMs', 'coordinator', 'epoch', 'heartbeatAt', 'host', 'live', 'node', 'pid', 'tasks'],
      ],
    )
    assert.deepEqual(
      s.participants.map((p: any) => [p.node, p.live, p.coordinator]),
      [
        ['gone', false, false],
        ['node-a', true, true],
      ],
    )
    assert.deepEqual(s.checkpoints, [
      {checkpointId: 'chk-2', status: 'open', epoch: 0, announced: true, acknowledged: 1, of: 2, acks: [{taskId: 'alpha', node: 'node-a', epoch: 0}]},
      {checkpointId: 'chk-1', status: 'completed', epoch: 0, announced: false, acknowledged: 0, of: 2, acks: []},
    ])
    assert.deepEqual(s.tasks, [
      {taskId: 'alpha', node: 'node-a', localCopyOn: 'node-a', localCopyCheckpoint: 'chk-1'},
      {taskId: 'beta', localCopyOn: 'gone', localCopyCheckpoint: 'chk-1'},
    ])
  })

  it('refuses a bad job file with exit 2', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const file = path.join(dir, 'ckpt.json')
      await fs.writeFile(file, JSON.stringify({job: 'x', tasks: [{id: 'a', stateDir: 'a'}], cluster: {lease: '1s', poll: '1s'}}))
      const result = await runCli(['status', '-j', file, '--json'])
      assert.equal(result.code, 2, result.stdout + result.stderr)
      assert.match(result.json.error.message, /cluster\.lease/)
    } finally {
      await cleanup()
    }
  })

  it('exits 5 when the Azure primary cannot be reached', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      await writeJob(dir, {tasks: [{id: 'a'}], primary: 'azure://nowhere/prefix'})
      const unreachable = 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=c2VjcmV0LWtleS1ub3QtZm9yLXRhc2tz;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1'
      const result = await runCli(['status', '--json'], {cwd: dir, env: {AZURE_STORAGE_CONNECTION_STRING: unreachable}, timeoutMs: 90_000})
      assert.equal(result.code, 5, result.stdout + result.stderr)
      assert.equal(result.json.error.code.startsWith('STORE'), true, result.stdout)
      assert.doesNotMatch(result.stdout + result.stderr, /c2VjcmV0LWtleS1ub3QtZm9yLXRhc2tz/)
    } finally {
      await cleanup()
    }
  })
})
