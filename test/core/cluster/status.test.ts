// `ckpt status` read in this process (issue 14 item 6), on many-node records written by hand on a
// real file store and on Azurite: live and stale participants in store time, the coordinator only
// while its writer is live, completed / aborted / open checkpoints with their acknowledgements,
// the node holding each task's newest local copy, and the clock of a store that takes no writes.
import assert from 'node:assert/strict'
import {execFileSync, spawnSync} from 'node:child_process'
import {hostname} from 'node:os'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {after, before, describe, it} from 'node:test'
import {readJobStatus, type JobStatus} from '../../../src/core/cluster/status.js'
import {clusterKeys} from '../../../src/core/format/keys.js'
import {openPrimaryStore} from '../../../src/core/stores/registry.js'
import {processStartOf} from '../../../src/core/util/process.js'
import {runCli} from '../../helpers/cli.js'
import {checkpointJob, type CheckpointJob} from '../../helpers/checkpoints.js'
import {ClusterRecords} from '../../helpers/hand-cluster-records.js'
import {azureKind, fileKind, type PrimaryKind} from '../../helpers/primaries.js'

// The file store's records are made stale by their mtime, so its lease can be long; on Azure the test waits past a short one.
const FILE_LEASE_MS = 60_000
const AZURE_LEASE_MS = 4000
const cluster = (leaseMs: number) => ({cluster: {lease: `${leaseMs}ms`, poll: '500ms'}})
const A_FIELDS = {tasks: ['alpha', 'beta'], epoch: 1, copies: {alpha: 'chk-2', beta: 'chk-9'}}
const C_FIELDS = {tasks: [], leaving: true as const, copies: {alpha: 'chk-1'}}

/** The heartbeats of a and c, as running participants rewrite them, so a busy machine's slow seeding cannot age them. */
async function beat(r: ClusterRecords): Promise<void> {
  await r.participant('a', A_FIELDS)
  await r.participant('c', C_FIELDS)
}

/** Writes the scenario every kind reads; `makeStale` ages participant b's record past the lease. */
async function seed(j: CheckpointJob, makeStale: (key: string) => Promise<void>): Promise<ClusterRecords> {
  const r = new ClusterRecords(j.ctx.primary, j.ctx.job)
  // b: gone; its disk holds the newest copy of beta (chk-10 is newer than a's chk-9, though not as text)
  await r.participant('b', {tasks: ['gamma'], copies: {gamma: 'chk-2', beta: 'chk-10'}})
  await makeStale(clusterKeys.participant(j.ctx.job.name, 'b'))
  await beat(r)
  await r.owner('alpha', 1, 'b')
  await r.owner('alpha', 2, 'a')
  await r.owner('beta', 1, 'a')
  await r.owner('gamma', 1, 'b')
  await r.coordinator(1, 'a')
  await r.coordinator(2, 'b')
  // chk-1 and chk-2 are real takes' manifests; chk-2 was also announced and acknowledged by every task
  await r.announce('chk-2', 0)
  for (const [task, node] of [
    ['alpha', 'a'],
    ['beta', 'a'],
    ['gamma', 'b'],
  ])
    await r.ack('chk-2', task, node, 0)
  await r.announce('chk-3', 0)
  await r.ack('chk-3', 'alpha', 'a', 0)
  await r.ack('chk-3', 'beta', 'a', 0)
  await r.abort('chk-3', 0)
  await r.epoch(1, 'a')
  await r.announce('chk-4', 1)
  await r.ack('chk-4', 'alpha', 'a', 1)
  await r.ack('chk-4', 'beta', 'a', 0) // left over from before the recovery: not counted
  await beat(r)
  return r
}

function checkScenario(s: JobStatus, leaseMs: number): void {
  assert.equal(s.job, 'testjob')
  assert.equal(s.epoch, 1)
  assert.equal(s.coordinator, undefined, 'the highest term was written by b, which is not live')
  const p = Object.fromEntries(s.participants.map((x) => [x.node, x]))
  assert.deepEqual(Object.keys(p), ['a', 'b', 'c'])
  assert.equal(p.a.live, true)
  assert.ok(p.a.ageMs < leaseMs, `a's age ${p.a.ageMs}`)
  assert.deepEqual([p.a.tasks, p.a.epoch, p.a.coordinator], [['alpha', 'beta'], 1, false])
  assert.equal(p.b.live, false)
  assert.ok(p.b.ageMs >= leaseMs, `b's age ${p.b.ageMs}`)
  assert.equal(p.c.live, false, 'a leaving participant is not live')
  assert.equal(p.c.leaving, true)
  for (const x of s.participants) assert.equal(x.heartbeatAt, new Date(x.heartbeatAt).toISOString())
  const summary = s.checkpoints.map((c) => [c.checkpointId, c.status, c.epoch, c.announced, c.acknowledged, c.of])
  assert.deepEqual(summary, [
    ['chk-4', 'open', 1, true, 1, 3],
    ['chk-3', 'aborted', 0, true, 2, 3],
    ['chk-2', 'completed', 0, true, 3, 3],
    ['chk-1', 'completed', 0, false, 0, 3],
  ])
  assert.deepEqual(s.checkpoints[0].acks, [
    {taskId: 'alpha', node: 'a', epoch: 1},
    {taskId: 'beta', node: 'a', epoch: 0},
  ])
  assert.deepEqual(
    s.checkpoints[2].acks.map((a) => [a.taskId, a.node]),
    [
      ['alpha', 'a'],
      ['beta', 'a'],
      ['gamma', 'b'],
    ],
  )
  assert.deepEqual(s.tasks, [
    {taskId: 'alpha', node: 'a', localCopyOn: 'a', localCopyCheckpoint: 'chk-2'},
    {taskId: 'beta', node: 'a', localCopyOn: 'b', localCopyCheckpoint: 'chk-10'},
    {taskId: 'gamma', localCopyOn: 'b', localCopyCheckpoint: 'chk-2'},
  ])
}

async function probesLeft(j: CheckpointJob): Promise<string[]> {
  const found: string[] = []
  for await (const info of j.ctx.primary.list(`${clusterKeys.prefix(j.ctx.job.name)}probes/`)) found.push(info.key)
  return found
}

function scenario(kind: PrimaryKind, leaseMs: number, makeStale: (j: CheckpointJob, key: string) => Promise<void>) {
  describe(`ckpt status on ${kind.name} records`, () => {
    let j: CheckpointJob
    before(async () => {
      await kind.setup()
      j = await checkpointJob(kind, {tasks: ['alpha', 'beta', 'gamma'], extra: cluster(leaseMs)})
      await j.take(2)
    })
    after(async () => {
      await j?.cleanup()
      await kind.teardown()
    })

    it('shows live and stale participants, no coordinator of a dead writer, every kind of checkpoint and the newest copies', async () => {
      const r = await seed(j, (key) => makeStale(j, key))
      const s = await readJobStatus(j.ctx.primary, j.ctx.job)
      assert.equal(s.clock, 'store')
      checkScenario(s, leaseMs)
      assert.deepEqual(await probesLeft(j), [], 'the probe is removed')

      await r.coordinator(3, 'a', 'run-of-an-earlier-a')
      await beat(r)
      assert.equal((await readJobStatus(j.ctx.primary, j.ctx.job)).coordinator, undefined, 'a node name of another run is not the coordinator')
      await r.coordinator(4, 'a')
      await beat(r)
      const then = await readJobStatus(j.ctx.primary, j.ctx.job)
      assert.deepEqual({...then.coordinator, heartbeatAt: undefined}, {node: 'a', term: 4, heartbeatAt: undefined})
      assert.equal(then.coordinator!.heartbeatAt, then.participants[0].heartbeatAt)
      assert.deepEqual(
        then.participants.map((p) => [p.node, p.coordinator]),
        [
          ['a', true],
          ['b', false],
          ['c', false],
        ],
      )
    })
  })
}

// The file store's time is the file's mtime: set it back an hour.
scenario(fileKind, FILE_LEASE_MS, async (j, key) => {
  const when = new Date(Date.now() - 3600_000)
  await fs.utimes(path.join(j.target.url, ...key.split('/')), when, when)
})
// Azure's time is the service's: wait past the lease (Last-Modified has whole seconds).
scenario(azureKind, AZURE_LEASE_MS, async () => sleep(AZURE_LEASE_MS + 1500))

describe('ckpt status on a store that takes no writes', () => {
  before(() => azureKind.setup())
  after(() => azureKind.teardown())

  it('measures ages from the newest record and says so (a read-only SAS)', async () => {
    const j = await checkpointJob(azureKind, {tasks: ['alpha', 'beta', 'gamma'], extra: cluster(AZURE_LEASE_MS)})
    try {
      await j.take(2)
      await seed(j, async () => sleep(AZURE_LEASE_MS + 1500))
      const readOnly = await openPrimaryStore(await azureKind.sasUrl(j.target), {baseDir: j.dir, create: false})
      try {
        assert.equal(readOnly.properties.writable, false)
        const s = await readJobStatus(readOnly, j.ctx.job)
        assert.equal(s.clock, 'newest-record')
        checkScenario(s, AZURE_LEASE_MS)
      } finally {
        await readOnly.close()
      }
    } finally {
      await j.cleanup()
    }
  })

  it('measures ages from the newest record on a read-only mount of a file store', async () => {
    const j = await checkpointJob(fileKind, {tasks: ['alpha', 'beta', 'gamma'], extra: cluster(FILE_LEASE_MS)})
    const ro = path.join(j.dir, 'read-only-primary')
    await fs.mkdir(ro)
    execFileSync('mount', ['--bind', j.target.url, ro])
    try {
      execFileSync('mount', ['-o', 'remount,ro,bind', ro])
      await j.take(2)
      await seed(j, async (key) => {
        const when = new Date(Date.now() - 3600_000)
        await fs.utimes(path.join(j.target.url, ...key.split('/')), when, when)
      })
      const readOnly = await openPrimaryStore(ro, {baseDir: j.dir, create: false})
      assert.equal(readOnly.properties.writable, false)
      const s = await readJobStatus(readOnly, j.ctx.job)
      assert.equal(s.clock, 'newest-record')
      checkScenario(s, FILE_LEASE_MS)
      assert.ok(Date.parse(s.now!) >= Date.parse(s.participants.find((p) => p.node === 'c')!.heartbeatAt))
    } finally {
      execFileSync('umount', [ro])
      await j.cleanup()
    }
  })
})

describe('ckpt status of a single-node job', () => {
  before(() => fileKind.setup())
  after(() => fileKind.teardown())

  it('has no participants, no coordinator, and the checkpoints of its manifests', async () => {
    const j = await checkpointJob(fileKind, {tasks: ['alpha']})
    try {
      await j.take(2)
      const s = await readJobStatus(j.ctx.primary, j.ctx.job)
      assert.deepEqual(
        {...s, now: undefined},
        {
          job: 'testjob',
          clock: 'store',
          now: undefined,
          epoch: 0,
          participants: [],
          checkpoints: [
            {checkpointId: 'chk-2', status: 'completed', epoch: 0, announced: false, acknowledged: 0, of: 1, acks: []},
            {checkpointId: 'chk-1', status: 'completed', epoch: 0, announced: false, acknowledged: 0, of: 1, acks: []},
          ],
          tasks: [{taskId: 'alpha'}],
        },
      )
    } finally {
      await j.cleanup()
    }
  })
})

describe('ckpt status of participants on this host', () => {
  before(() => fileKind.setup())
  after(() => fileKind.teardown())

  it('counts a fresh record whose process is gone as not live, as participants do', async () => {
    const j = await checkpointJob(fileKind, {tasks: ['alpha', 'beta'], extra: cluster(FILE_LEASE_MS)})
    try {
      const r = new ClusterRecords(j.ctx.primary, j.ctx.job)
      const gone = spawnSync('true').pid!
      await r.participant('gone', {host: hostname(), pid: gone, processStart: undefined, tasks: ['alpha']})
      await r.participant('here', {host: hostname(), pid: process.pid, processStart: processStartOf(process.pid), tasks: ['beta']})
      await r.owner('alpha', 1, 'gone')
      await r.owner('beta', 1, 'here')
      const s = await readJobStatus(j.ctx.primary, j.ctx.job)
      assert.deepEqual(
        s.participants.map((p) => [p.node, p.live, p.ageMs < FILE_LEASE_MS]),
        [
          ['gone', false, true],
          ['here', true, true],
        ],
      )
      assert.deepEqual(s.tasks, [{taskId: 'alpha'}, {taskId: 'beta', node: 'here'}])
    } finally {
      await j.cleanup()
    }
  })
})

describe('ckpt status of an open checkpoint past checkpoint.timeout', () => {
  before(() => fileKind.setup())
  after(() => fileKind.teardown())

  it('marks it overdue, in store time, and leaves a fresh open one and a completed one unmarked', async () => {
    const j = await checkpointJob(fileKind, {tasks: ['alpha', 'beta'], extra: {...cluster(FILE_LEASE_MS), checkpoint: {timeout: '1m', grace: '1h'}}})
    try {
      await j.take(1)
      const r = new ClusterRecords(j.ctx.primary, j.ctx.job)
      await r.announce('chk-1', 0)
      await r.announce('chk-2', 0)
      await r.ack('chk-2', 'alpha', 'a', 0)
      await r.announce('chk-3', 0)
      // chk-1 (completed) and chk-2 (open) were announced two minutes ago in the store's time; chk-3 just now
      const when = new Date(Date.now() - 120_000)
      for (const id of ['chk-1', 'chk-2']) await fs.utimes(path.join(j.target.url, ...clusterKeys.announce(j.ctx.job.name, id as never).split('/')), when, when)
      const s = await readJobStatus(j.ctx.primary, j.ctx.job)
      assert.deepEqual(
        s.checkpoints.map((c) => [c.checkpointId, c.status, c.acknowledged, c.overdue]),
        [
          ['chk-3', 'open', 0, undefined],
          ['chk-2', 'open', 1, true],
          ['chk-1', 'completed', 0, undefined],
        ],
      )
      const shown = await j.ckpt(['status'])
      assert.equal(shown.code, 0, shown.stderr)
      assert.equal(shown.json.checkpoints.find((c: {checkpointId: string}) => c.checkpointId === 'chk-2').overdue, true)
      const table = await runCli(['status'], {cwd: j.dir, env: j.target.env})
      assert.equal(table.code, 0, table.stderr)
      assert.match(table.stdout, /^chk-2 +open \(past checkpoint\.timeout\) +0 +1\/2 +2 *$/m)
      assert.match(table.stdout, /^chk-3 +open +0 +0\/2 +2 *$/m)
    } finally {
      await j.cleanup()
    }
  })
})
