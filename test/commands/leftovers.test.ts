// Leftovers of interrupted work (issue 11 item 13): temporary objects and empty data folders in a
// file primary, snapshot folders, unfinished (.partial-) copies and scratch copies on the node.
// 'checkpoint prune' and 'local prune' remove them (by the pid in their names, else after the
// grace period), 'local list' counts them, and a take removes those of dead processes.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {runCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/primaries.js'
import {writeJob} from '../helpers/job.js'

const exists = (p: string) =>
  fs.stat(p).then(
    () => true,
    () => false,
  )
const twoHoursAgo = new Date(Date.now() - 2 * 3600_000)

async function plant(file: string, old = false): Promise<string> {
  await fs.mkdir(path.dirname(file), {recursive: true})
  await fs.writeFile(file, 'leftover bytes')
  if (old) {
    await fs.utimes(file, twoHoursAgo, twoHoursAgo)
    await fs.utimes(path.dirname(file), twoHoursAgo, twoHoursAgo)
  }
  return file
}

describe('leftovers of interrupted work', {timeout: 120_000}, () => {
  let dir: string
  let cleanup: () => Promise<void>
  let jobFile: string
  let env: Record<string, string>
  let temp: string
  let dead: number
  before(async () => {
    ;({dir, cleanup} = await tempDir('ckpt-leftovers-'))
    temp = path.join(dir, 'tmp')
    await fs.mkdir(temp)
    env = {TMPDIR: temp} // snapshot folders live in the OS temp folder; this test's own
    jobFile = await writeJob(dir, {primary: 'primary', localRoots: ['local'], tasks: [{id: 'db'}]})
    await fs.writeFile(path.join(dir, 'state', 'db', 'data.txt'), 'state')
    dead = spawnSync('true').pid!
  })
  after(() => cleanup())

  const local = () => path.join(dir, 'local')
  const taskDir = () => path.join(local(), 'test-node', 'testjob', 'db')

  it('local list counts them and local prune removes those of dead processes and the old ones without a pid', async () => {
    const taken = await runCli(['checkpoint', 'take', '-j', jobFile], {env})
    assert.equal(taken.code, 0, taken.stderr)
    const deadSnapshot = await plant(path.join(temp, `ckpt-snapshot-${dead}-db-chk-5-abcdef`, 'db.dump'))
    const liveSnapshot = await plant(path.join(temp, `ckpt-snapshot-${process.pid}-db-chk-6-abcdef`, 'db.dump'))
    const oldSnapshot = await plant(path.join(local(), '.snapshot-db-chk-4-abcdef', 'db.dump'), true)
    const deadPartial = await plant(path.join(taskDir(), `chk-5.partial-${dead}-0a0b0c0d`, 'state', 'data.txt'))
    const deadScratch = await plant(path.join(local(), '.ckpt-scratch', 'test-node', 'testjob', `${dead}-db-chk-5-abcdef`, 'state', 'data.txt'))
    const oldScratch = await plant(path.join(local(), '.ckpt-scratch', 'test-node', 'testjob', 'db-chk-3-abcdef', 'state', 'data.txt'), true)
    await fs.utimes(path.dirname(path.dirname(oldScratch)), twoHoursAgo, twoHoursAgo)
    await fs.utimes(path.dirname(oldSnapshot), twoHoursAgo, twoHoursAgo)

    const listed = await runCli(['local', 'list', '-j', jobFile, '--json'], {env})
    assert.equal(listed.code, 0, listed.stderr)
    const kinds = listed.json.leftovers.items.map((i: {kind: string; pid?: number}) => `${i.kind}:${i.pid ?? '-'}`).sort()
    assert.deepEqual(kinds, [`partial:${dead}`, `scratch:${dead}`, 'scratch:-', `snapshot:${dead}`, `snapshot:${process.pid}`, 'snapshot:-'].sort())
    assert.equal(listed.json.leftovers.count, 6)
    assert.ok(listed.json.leftovers.bytes >= 6 * 14)
    assert.equal(listed.json.copies.length, 2, 'the partial copy is still listed among the copies, as before')

    const pruned = await runCli(['local', 'prune', '-j', jobFile, '--json'], {env})
    assert.equal(pruned.code, 0, pruned.stderr)
    for (const gone of [deadSnapshot, oldSnapshot, deadPartial, deadScratch, oldScratch]) assert.equal(await exists(path.dirname(gone)), false, `${gone} is removed`)
    assert.equal(await exists(liveSnapshot), true, 'a live process keeps its snapshot folder')
    assert.deepEqual(
      pruned.json.removed.map((r: {checkpointId: string}) => r.checkpointId),
      ['chk-5'],
    )
    assert.equal(pruned.json.leftovers.filter((l: {action: string}) => l.action === 'remove').length, 4)
    const relisted = await runCli(['local', 'list', '-j', jobFile, '--json'], {env})
    assert.equal(relisted.json.leftovers.count, 1)
  })

  it('a take removes the leftovers of dead processes on its node', async () => {
    const deadSnapshot = await plant(path.join(temp, `ckpt-snapshot-${dead}-db-chk-7-abcdef`, 'db.dump'))
    const deadPartial = await plant(path.join(taskDir(), `chk-7.partial-${dead}-0a0b0c0d`, 'state', 'data.txt'))
    const deadScratch = await plant(path.join(local(), '.ckpt-scratch', 'test-node', 'testjob', `${dead}-db-chk-7-abcdef`, 'state', 'data.txt'))
    const recentOld = await plant(path.join(local(), '.snapshot-db-chk-7-abcdef', 'db.dump'))
    const taken = await runCli(['checkpoint', 'take', '-j', jobFile], {env})
    assert.equal(taken.code, 0, taken.stderr)
    for (const gone of [deadSnapshot, deadPartial, deadScratch]) assert.equal(await exists(path.dirname(gone)), false, `${gone} is removed`)
    assert.equal(await exists(recentOld), true, 'one without a pid waits for local prune and the grace period')
  })

  it('checkpoint prune removes old temporary objects and empty data folders from a file primary', async () => {
    const data = path.join(dir, 'primary', 'testjob', 'data')
    const oldTemp = await plant(path.join(data, 'chk-1', '.ckpt-tmp-0123456789ab-db.tar'), true)
    const freshTemp = await plant(path.join(data, 'chk-2', '.ckpt-tmp-ba9876543210-db.tar'))
    await fs.mkdir(path.join(data, 'chk-40', 'nested'), {recursive: true})
    const dry = await runCli(['checkpoint', 'prune', '--dry-run', '-j', jobFile, '--json'], {env})
    assert.equal(dry.code, 0, dry.stderr)
    assert.deepEqual(dry.json.leftovers.temporaries, ['testjob/data/chk-1/.ckpt-tmp-0123456789ab-db.tar'])
    assert.equal(await exists(oldTemp), true, 'a dry run removes nothing')

    const pruned = await runCli(['checkpoint', 'prune', '--retain', '1', '-j', jobFile, '--json'], {env})
    assert.equal(pruned.code, 0, pruned.stderr)
    assert.equal(await exists(oldTemp), false)
    assert.equal(await exists(freshTemp), true, 'a temporary object within the grace period may be a write in progress')
    assert.equal(await exists(path.join(data, 'chk-40')), false)
    // The pruned checkpoints' data folders go with their data.
    assert.deepEqual(pruned.json.removed, ['chk-1'])
    assert.deepEqual(pruned.json.leftovers.folders.sort(), ['testjob/data/chk-1', 'testjob/data/chk-40', 'testjob/data/chk-40/nested'])
    for (const id of pruned.json.removed) assert.equal(await exists(path.join(data, id)), false, `data/${id}/ is removed`)
  })
})
