// Whose checkpoints and copies these are: one job name claimed by two job files in one primary, and
// one local root shared by the copies of two primaries (issue 11 items 6 and 29), through the built CLI.
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {runCli} from '../helpers/cli.js'
import {exists, writeJob} from '../helpers/job.js'
import {tempDir} from '../helpers/primaries.js'

describe('the job identity in the primary', () => {
  it('refuses a second job file that claims the same job name with other tasks, and says how to resolve it', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const primary = path.join(dir, 'primary')
      await fs.mkdir(path.join(dir, 'a'), {recursive: true})
      const jobA = await writeJob(path.join(dir, 'a'), {job: 'orders', primary, tasks: [{id: 'ingest'}]})
      await fs.mkdir(path.join(dir, 'b'), {recursive: true})
      const jobB = await writeJob(path.join(dir, 'b'), {job: 'orders', primary, tasks: [{id: 'billing'}]})
      await fs.writeFile(path.join(dir, 'a', 'state', 'ingest', 'f.txt'), 'a')
      await fs.writeFile(path.join(dir, 'b', 'state', 'billing', 'f.txt'), 'b')
      for (let i = 0; i < 2; i++) assert.equal((await runCli(['checkpoint', 'take', '-j', jobA])).code, 0)

      for (const args of [['checkpoint', 'take'], ['checkpoint', 'prune', '--retain', '1'], ['restore'], ['checkpoint', 'list']]) {
        const r = await runCli([...args, '-j', jobB, '--json'])
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}`)
        assert.match(
          r.json.error.message,
          /job orders in primary store .* belongs to another job file: .*a\/ckpt\.json .*recorded tasks ingest; .*b\/ckpt\.json has tasks billing\. .*another "job" name.*ckpt checkpoint take --adopt/,
        )
      }
      assert.ok(await exists(path.join(primary, 'orders', 'job.json')), 'the first take records the job')
      const list = await runCli(['checkpoint', 'list', '-j', jobA, '--json'])
      assert.deepEqual(
        list.json.checkpoints.map((c: any) => c.checkpointId),
        ['chk-1', 'chk-2'],
        "A's checkpoints are all there",
      )

      // Retention, intervals, even where the state lives are not the identity: a restore into another folder is legitimate.
      await writeJob(path.join(dir, 'a'), {job: 'orders', primary, tasks: [{id: 'ingest', stateDir: 'moved/ingest'}], extra: {retain: {primary: 5}, checkpoint: {interval: '1m'}}})
      assert.equal((await runCli(['restore', '-j', jobA])).code, 0)
      assert.equal(await fs.readFile(path.join(dir, 'a', 'moved', 'ingest', 'f.txt'), 'utf8'), 'a')

      // Adopting on purpose makes B the job; then A is the stranger.
      const adopt = await runCli(['checkpoint', 'take', '--adopt', '-j', jobB, '--json'])
      assert.equal(adopt.code, 0, adopt.stderr)
      assert.equal((await runCli(['checkpoint', 'take', '-j', jobA])).code, 2)
    } finally {
      await cleanup()
    }
  })

  it('records the job in an old store that has no record on the first take', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const jobFile = await writeJob(dir, {job: 'old', tasks: [{id: 't'}]})
      assert.equal((await runCli(['checkpoint', 'take', '-j', jobFile])).code, 0)
      const record = path.join(dir, '.ckpt', 'primary', 'old', 'job.json')
      await fs.rm(record)
      assert.equal((await runCli(['checkpoint', 'list', '-j', jobFile])).code, 0, 'a reader of an old store is not refused')
      assert.equal(await exists(record), false, 'and writes nothing')
      assert.equal((await runCli(['checkpoint', 'take', '-j', jobFile])).code, 0)
      const doc = JSON.parse(await fs.readFile(record, 'utf8'))
      assert.deepEqual(doc.tasks, ['t'])
      assert.match(doc.identity, /^sha256:[0-9a-f]{64}$/)
    } finally {
      await cleanup()
    }
  })
})

describe('secondary copies of two primaries in one local root', () => {
  it("never prunes nor restores from another primary's copies", async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const jobFile = await writeJob(dir, {job: 'j', tasks: [{id: 't'}], localRoots: ['local']})
      const p1 = path.join(dir, 'p1')
      const p2 = path.join(dir, 'p2')
      const copyOf = (id: string) => path.join(dir, 'local', 'test-node', 'j', 't', id, 'copy.json')
      await fs.writeFile(path.join(dir, 'state', 't', 'f.txt'), 'one')
      for (let i = 0; i < 3; i++) assert.equal((await runCli(['checkpoint', 'take', '-j', jobFile, '--primary', p1])).code, 0)

      const take2 = await runCli(['checkpoint', 'take', '-j', jobFile, '--primary', p2, '--json'])
      assert.equal(take2.code, 0, take2.stderr)
      assert.equal(take2.json.tasks[0].secondary, 'written')
      assert.ok(await exists(copyOf('chk-1')), "p2's copy is not removed by retention because of p1's newer one")
      const prune = await runCli(['local', 'prune', '-j', jobFile, '--primary', p2, '--json'])
      assert.equal(prune.code, 0, prune.stderr)
      assert.deepEqual(prune.json.removed, [])
      assert.ok(await exists(copyOf('chk-3')), "p1's copy is not an orphan of p2")

      assert.equal(JSON.parse(await fs.readFile(copyOf('chk-3'), 'utf8')).primary, p1, 'the copy records its primary')
      const plan1 = await runCli(['restore', '--plan', '-j', jobFile, '--primary', p1, '--json'])
      assert.equal(plan1.json.tasks[0].source, 'local')
      const plan2 = await runCli(['restore', '--plan', '-j', jobFile, '--primary', p2, '--json'])
      assert.equal(plan2.json.tasks[0].source, 'local')

      // p2 reaches chk-3, whose folder holds p1's copy: p1's stays; p2's task recovers from its primary.
      for (let i = 0; i < 2; i++) assert.equal((await runCli(['checkpoint', 'take', '-j', jobFile, '--primary', p2])).code, 0)
      assert.equal(JSON.parse(await fs.readFile(copyOf('chk-3'), 'utf8')).primary, p1)
      // Without its state file (which format 2 would keep in place), only a copy or the primary can serve.
      await fs.rm(path.join(dir, 'state', 't', 'f.txt'))
      const plan3 = await runCli(['restore', '--plan', '-j', jobFile, '--primary', p2, '--json'])
      assert.equal(plan3.json.checkpointId, 'chk-3')
      assert.equal(plan3.json.tasks[0].source, 'remote', "p1's copy of chk-3 never serves p2")
    } finally {
      await cleanup()
    }
  })
})
