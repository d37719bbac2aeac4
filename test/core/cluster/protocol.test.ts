// The many-node protocol's rules, on a real file store: ownership and job digests, a commit that
// follows from the acknowledgements alone, abort against commit, and epochs fencing old acks.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtemp, readFile, rm, utimes, writeFile} from 'node:fs/promises'
import {getEventListeners} from 'node:events'
import {tmpdir} from 'node:os'
import * as path from 'node:path'
import {resolveSettings} from '../../../src/core/config/settings.js'
import {openJob, type JobContext} from '../../../src/core/context.js'
import {Membership} from '../../../src/core/cluster/membership.js'
import {OpenCheckpoint, abortCheckpoint, announceCheckpoint, outcomeOf} from '../../../src/core/cluster/commit.js'
import {beginEpoch} from '../../../src/core/cluster/epochs.js'
import {assignTasks} from '../../../src/core/cluster/assignment.js'
import {createRecord, readRecord, type Ack, type Announcement} from '../../../src/core/cluster/records.js'
import {clusterKeys, keys} from '../../../src/core/format/keys.js'
import {completedIds} from '../../../src/core/catalogue/catalogue.js'
import {JobMismatchError, TaskOwnedError, UsageError} from '../../../src/core/errors.js'
import {withLock} from '../../../src/core/lock/lock.js'
import {interruptSignal} from '../../../src/core/interrupt.js'
import type {TaskRecordV2} from '../../../src/core/format/manifest.js'

const TASKS = [
  {id: 'a1', node: 'a', stateDir: 'state/a1'},
  {id: 'b1', node: 'b', stateDir: 'state/b1'},
]

async function setUp(t: {after: (fn: () => Promise<void>) => void}, extra: Record<string, unknown> = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), 'ckpt-cluster-'))
  t.after(() => rm(dir, {recursive: true, force: true}))
  const file = path.join(dir, 'ckpt.json')
  await writeFile(file, JSON.stringify({job: 'mn', primary: 'primary', localRoots: ['local'], cluster: {lease: '3s', poll: '200ms'}, checkpoint: {grace: 0, timeout: '5s'}, tasks: TASKS, ...extra}))
  const contexts: JobContext[] = []
  const open = async (node: string, jobFile = file) => {
    const ctx = await openJob(await resolveSettings({jobFile, node}, {}), {identity: 'record'})
    contexts.push(ctx)
    return ctx
  }
  t.after(async () => {
    for (const ctx of contexts) await ctx.close()
  })
  return {dir, file, open}
}

function taskRecord(taskId: string): TaskRecordV2 {
  return {taskId, index: `mn/data/chk-1/${taskId}.index.json`, indexSize: 1, indexSha256: '0'.repeat(64), files: 1, bytes: 1, packs: 0, packBytes: 0, addedBytes: 0, uploadedBytes: 1, reusedBytes: 0}
}

function ack(ann: Announcement, taskId: string, node: string, epoch = ann.epoch): Ack {
  return {
    checkpointId: ann.checkpointId,
    epoch,
    taskId,
    node,
    runId: `run-${node}`,
    record: taskRecord(taskId),
    ackedAt: `2026-12-02T00:00:0${taskId === 'a1' ? 1 : 2}.000Z`,
    digest: 'blake3',
    chunkSize: 1048576,
  }
}

test('a second live participant claiming a task is refused, naming the first one (node and pid)', async (t) => {
  const {open} = await setUp(t)
  const a = new Membership(await open('a'), [{id: 'a1'} as never], 'job')
  await a.join()
  const other = new Membership(await open('z'), [{id: 'a1'} as never], 'job')
  await assert.rejects(other.join(), (error: unknown) => error instanceof TaskOwnedError && /task a1 is run by participant a \(pid \d+/.test((error as Error).message))
})

test('a participant whose heartbeat is older than the lease (store time) gives its tasks up', async (t) => {
  const {dir, open} = await setUp(t)
  const a = new Membership(await open('a'), [{id: 'a1'} as never], 'job')
  await a.join()
  // the file store's time is the file's mtime: make a's heartbeat a minute old, and from another host
  const record = path.join(dir, 'primary/mn/cluster/participants/a.json')
  const body = JSON.parse(await readFile(record, 'utf8'))
  await writeFile(record, JSON.stringify({...body, host: 'elsewhere'}))
  const old = new Date(Date.now() - 60_000)
  await utimes(record, old, old)
  const d = new Membership(await open('d'), [{id: 'a1'} as never], 'job')
  await d.join()
  assert.deepEqual(await a.lostTasks(), ['a1 (now node d)'])
})

test('participants that run different job files refuse each other (exit 2)', async (t) => {
  const {dir, open} = await setUp(t)
  await new Membership(await open('a'), [{id: 'a1'} as never], 'job').join()
  const other = path.join(dir, 'other.json')
  await writeFile(other, JSON.stringify({job: 'mn', primary: 'primary', cluster: {lease: '3s', poll: '200ms'}, checkpoint: {grace: 0, timeout: '5s'}, tasks: [TASKS[0], {...TASKS[1], node: 'c'}]}))
  // the same task ids (the job's identity allows it), but b1 on another node
  const ctx = await open('c', other)
  await assert.rejects(
    new Membership(ctx, [{id: 'b1'} as never], 'job').join(),
    (error: unknown) => error instanceof JobMismatchError && (error as JobMismatchError).exit === 2 && /participant a \(pid/.test((error as Error).message),
  )
})

test('the manifest follows from the announcement and the acks: a second writer finds the same bytes', async (t) => {
  const {open} = await setUp(t)
  const ctx = await open('a')
  const ann = await announceCheckpoint(ctx, {epoch: 0, digest: 'd', term: 1}, [])
  const info = (await ctx.primary.stat(clusterKeys.announce('mn', ann.checkpointId as never)))!
  await createRecord(ctx.primary, clusterKeys.ack('mn', ann.checkpointId as never, 'a1'), ack(ann, 'a1', 'a'))
  const first = new OpenCheckpoint(ann, info)
  assert.equal(await first.tryCommit(ctx), 'waiting')
  await createRecord(ctx.primary, clusterKeys.ack('mn', ann.checkpointId as never, 'b1'), ack(ann, 'b1', 'b'))
  assert.equal(await first.tryCommit(ctx), 'completed')
  assert.equal(first.roundTrips, 2, 'the last acknowledger commits in two round trips: read the acks (at once), create the manifest')
  const written = await readFile(path.join(path.dirname(ctx.job.file), 'primary', keys.manifest('mn', ann.checkpointId as never)))
  // a second participant (its own reading of the same acks) finds the same manifest and agrees
  const second = new OpenCheckpoint(ann, info)
  assert.equal(await second.tryCommit(ctx), 'completed')
  const manifest = JSON.parse(written.toString())
  assert.deepEqual(
    manifest.tasks.map((t: TaskRecordV2) => [t.taskId, t.node]),
    [
      ['a1', 'a'],
      ['b1', 'b'],
    ],
  )
  assert.equal(manifest.createdAt, ann.announcedAt)
  assert.equal(await abortCheckpoint(ctx, ann.checkpointId as never, 0, 'too late'), 'completed', 'an abort after the commit loses')
})

test('an abort record takes the commit key first: the checkpoint can never commit, and listings skip it', async (t) => {
  const {open} = await setUp(t)
  const ctx = await open('a')
  const ann = await announceCheckpoint(ctx, {epoch: 0, digest: 'd', term: 1}, [])
  const id = ann.checkpointId as never
  const info = (await ctx.primary.stat(clusterKeys.announce('mn', id)))!
  assert.equal(await abortCheckpoint(ctx, id, 0, 'participant b was lost'), 'aborted')
  for (const task of ['a1', 'b1']) await createRecord(ctx.primary, clusterKeys.ack('mn', id, task), ack(ann, task, task[0]))
  assert.equal(await new OpenCheckpoint(ann, info).tryCommit(ctx), 'aborted')
  assert.equal(await outcomeOf(ctx, id), 'aborted')
  assert.deepEqual(await completedIds(ctx.primary, 'mn'), [])
})

test('an ack of an older epoch does not count, and a new epoch aborts the checkpoints announced before it', async (t) => {
  const {open} = await setUp(t)
  const ctx = await open('a')
  const ann = await announceCheckpoint(ctx, {epoch: 0, digest: 'd', term: 1}, [])
  const id = ann.checkpointId as never
  const info = (await ctx.primary.stat(clusterKeys.announce('mn', id)))!
  await createRecord(ctx.primary, clusterKeys.ack('mn', id, 'a1'), ack(ann, 'a1', 'a'))
  await createRecord(ctx.primary, clusterKeys.ack('mn', id, 'b1'), ack(ann, 'b1', 'b', 7))
  const open1 = new OpenCheckpoint(ann, info)
  assert.equal(await open1.tryCommit(ctx), 'waiting')
  assert.deepEqual(open1.missing(), ['b1'])
  const target = await beginEpoch(ctx, 'task a1 failed')
  assert.equal(target.epoch, 1)
  assert.equal(target.checkpointId, null)
  assert.equal(await outcomeOf(ctx, id), 'aborted')
  const record = await readRecord<{reason: string}>(ctx.primary, keys.manifest('mn', id))
  assert.match(record!.reason, /epoch 1/)
})

test('the job file: tasks[].node, the cluster section, and a run that names its tasks', async (t) => {
  const {file, open} = await setUp(t)
  const ctx = await open('b')
  assert.deepEqual(
    assignTasks(ctx.job, 'b').tasks.map((x) => x.id),
    ['b1'],
  )
  assert.deepEqual(ctx.job.cluster, {leaseMs: 3000, pollMs: 200})
  assert.throws(
    () => assignTasks(ctx.job, 'q'),
    (error: unknown) => error instanceof UsageError && /node q runs no task.*names a, b/.test((error as Error).message),
  )
  assert.throws(() => assignTasks(ctx.job, 'b', ['nope']), /--task nope: job file .* has no task "nope"/)
  await writeFile(file, JSON.stringify({job: 'mn', primary: 'primary', cluster: {lease: '1s', poll: '500ms'}, tasks: TASKS}))
  await assert.rejects(open('b'), /cluster.lease: 1s is less than three times cluster.poll \(500ms\)/)
  await writeFile(file, JSON.stringify({job: 'mn', primary: 'primary', checkpoint: {format: 1}, tasks: TASKS}))
  assert.throws(() => assignTasks({...ctx.job, checkpoint: {...ctx.job.checkpoint, format: 1}}, 'b'), /needs checkpoint.format 2/)
})

test('a lock taken and released many times (a long run) leaves no listener on the interrupt signal', async (t) => {
  const {open} = await setUp(t)
  const ctx = await open('a')
  const before = getEventListeners(interruptSignal, 'abort').length
  for (let i = 0; i < 12; i++) await withLock(ctx, {mode: 'shared', purpose: 'take'}, async () => {})
  assert.equal(getEventListeners(interruptSignal, 'abort').length, before)
})
