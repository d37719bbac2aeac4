// Faults during take: an unwritable primary, a failing snapshot command, kill -9 mid-write.
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {openPrimaryStore} from '../../src/core/stores/registry.js'
import {collectCli, runCli, startCli, whileRunning} from '../helpers/cli.js'
import {exists, fingerprint, listFiles, makeTree, writeJob} from '../helpers/job.js'
import {fileKind, primaryKinds, tempDir} from '../helpers/primaries.js'

const MiB = 1 << 20

async function localCopies(dir: string): Promise<string[]> {
  return (await listFiles(path.join(dir, '.ckpt', 'local'))).filter((f) => !f.includes('.snapshot-'))
}

describe('an unwritable primary fails the checkpoint (file store)', () => {
  it('fails with exit 1 when the primary folder lies below a regular file', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      await fs.writeFile(path.join(dir, 'blocker'), 'file')
      await writeJob(dir, {tasks: [{id: 'alpha'}], primary: 'blocker/primary'})
      await makeTree(path.join(dir, 'state', 'alpha'))
      const take = await runCli(['checkpoint', 'take', '--json'], {cwd: dir})
      assert.equal(take.code, 1, take.stderr)
      assert.equal(take.json.error.exit, 1)
      assert.match(take.json.error.message, /blocker\/primary/)
      assert.deepEqual(await localCopies(dir), [])
    } finally {
      await cleanup()
    }
  })

  it('fails with exit 1, no manifest and no secondary copy when the data cannot be written', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      await writeJob(dir, {tasks: [{id: 'alpha'}, {id: 'beta'}], primary: 'primary'})
      await makeTree(path.join(dir, 'state', 'alpha'), {bigBytes: 8 * MiB})
      await makeTree(path.join(dir, 'state', 'beta'))
      // Claims can be written, task data cannot: a regular file stands where the data folder goes.
      await fs.mkdir(path.join(dir, 'primary', 'testjob'), {recursive: true})
      await fs.writeFile(path.join(dir, 'primary', 'testjob', 'data'), 'not a folder')
      const take = await runCli(['checkpoint', 'take', '--json'], {cwd: dir})
      assert.equal(take.code, 1, take.stderr)
      assert.match(take.json.error.message, /checkpoint chk-1 failed/)
      assert.equal(await exists(path.join(dir, 'primary', 'testjob', 'manifests', 'chk-1.json')), false)
      assert.deepEqual(await localCopies(dir), [], 'the failed attempt leaves no secondary copy')
      const list = await runCli(['checkpoint', 'list', '--json'], {cwd: dir})
      assert.deepEqual(
        list.json.checkpoints.map((c: any) => [c.checkpointId, c.status]),
        [['chk-1', 'incomplete']],
      )
      const restore = await runCli(['restore', '--json'], {cwd: dir})
      assert.equal(restore.code, 4, 'an incomplete checkpoint is never restored')
    } finally {
      await cleanup()
    }
  })
})

describe('snapshot commands', () => {
  it('captures what the snapshot command writes, with the environment of DESIGN.md', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const snapshot = 'cp -R "$CKPT_STATE_DIR/." "$CKPT_SNAPSHOT_DIR/" && echo "$CKPT_JOB $CKPT_TASK_ID $CKPT_CHECKPOINT_ID" > "$CKPT_SNAPSHOT_DIR/env.txt"'
      await writeJob(dir, {tasks: [{id: 'alpha', snapshot: {command: snapshot}}]})
      await fs.writeFile(path.join(dir, 'state', 'alpha', 'db'), 'rows')
      const take = await runCli(['checkpoint', 'take', '--json'], {cwd: dir})
      assert.equal(take.code, 0, take.stderr)
      await fs.rm(path.join(dir, 'state', 'alpha'), {recursive: true})
      assert.equal((await runCli(['restore', '--json'], {cwd: dir})).code, 0)
      assert.equal(await fs.readFile(path.join(dir, 'state', 'alpha', 'env.txt'), 'utf8'), 'testjob alpha chk-1\n')
      assert.equal(await fs.readFile(path.join(dir, 'state', 'alpha', 'db'), 'utf8'), 'rows')
    } finally {
      await cleanup()
    }
  })

  it('fails the checkpoint, naming the task, when the snapshot command fails or times out', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      await writeJob(dir, {tasks: [{id: 'good'}, {id: 'broken', snapshot: {command: 'echo "disk on fire" >&2; exit 7'}}, {id: 'slow', snapshot: {command: 'sleep 30', timeout: '300ms'}}]})
      await makeTree(path.join(dir, 'state', 'good'))
      const started = Date.now()
      const take = await runCli(['checkpoint', 'take', '--json'], {cwd: dir})
      assert.ok(Date.now() - started < 20_000, 'the timeout bounds the take')
      assert.equal(take.code, 1)
      assert.match(take.json.error.message, /task broken: snapshot command exited with code 7; stderr: disk on fire/)
      assert.match(take.json.error.message, /task slow: snapshot command timed out after 300ms/)
      assert.equal(await exists(path.join(dir, '.ckpt', 'primary', 'testjob', 'manifests', 'chk-1.json')), false)
      assert.deepEqual(await localCopies(dir), [])
    } finally {
      await cleanup()
    }
  })
})

for (const kind of primaryKinds) {
  describe(`kill -9 in the middle of a take (${kind.name} store)`, () => {
    before(() => kind.setup())
    after(() => kind.teardown())

    it('leaves no completed checkpoint, lists it incomplete, and the next take completes', async () => {
      const {dir, cleanup} = await tempDir()
      try {
        const target = await kind.fresh(dir)
        await writeJob(dir, {tasks: [{id: 'alpha'}], primary: target.url})
        await makeTree(path.join(dir, 'state', 'alpha'), {bigBytes: 300 * MiB})
        const before = await fingerprint(path.join(dir, 'state', 'alpha'))
        const store = await openPrimaryStore(target.url, {baseDir: dir, env: {...process.env, ...target.env}})
        const child = startCli(['checkpoint', 'take', '--json'], {cwd: dir, env: target.env})
        const result = collectCli(child)
        // Wait until the take has claimed its id and started its secondary copy, then kill it.
        const copyDir = path.join(dir, '.ckpt', 'local', 'test-node', 'testjob', 'alpha')
        await whileRunning(child, 'the take claimed chk-1 and began its secondary copy', async () => {
          const claimed = (await store.stat('testjob/claims/chk-1.json')) !== undefined
          return claimed && (await fs.readdir(copyDir).catch(() => [])).some((n) => n.includes('.partial-'))
        })
        await sleep(100)
        child.kill('SIGKILL')
        const killed = await result
        assert.equal(killed.signal, 'SIGKILL', 'the take was still running when it was killed')
        assert.equal(await store.stat('testjob/manifests/chk-1.json'), undefined)
        const list = await runCli(['checkpoint', 'list', '--json'], {cwd: dir, env: target.env})
        assert.deepEqual(
          list.json.checkpoints.map((c: any) => [c.checkpointId, c.status]),
          [['chk-1', 'incomplete']],
        )
        const local = await runCli(['local', 'list', '--json'], {cwd: dir, env: target.env})
        assert.ok(
          local.json.copies.every((c: any) => c.status === 'pending'),
          'the interrupted copy is pending, never confirmed',
        )

        const next = await runCli(['checkpoint', 'take', '--json'], {cwd: dir, env: target.env})
        assert.equal(next.code, 0, next.stderr)
        assert.equal(next.json.checkpointId, 'chk-2')
        await fs.rm(path.join(dir, 'state', 'alpha'), {recursive: true})
        const restore = await runCli(['restore', '--json'], {cwd: dir, env: target.env})
        assert.equal(restore.code, 0, restore.stderr)
        assert.equal(restore.json.checkpointId, 'chk-2')
        assert.deepEqual(await fingerprint(path.join(dir, 'state', 'alpha')), before)
        await store.close()
      } finally {
        await cleanup()
      }
    })
  })
}

describe('kill -9 in the middle of a restore', () => {
  it('leaves the old state whole, and the next restore finishes and cleans up', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      await writeJob(dir, {tasks: [{id: 'alpha'}]})
      const state = path.join(dir, 'state', 'alpha')
      await makeTree(state, {bigBytes: 300 * MiB})
      const checkpointed = await fingerprint(state)
      assert.equal((await runCli(['checkpoint', 'take', '--json'], {cwd: dir})).code, 0)
      await fs.rm(path.join(state, 'big.bin'))
      await fs.writeFile(path.join(state, 'top.txt'), 'newer than the checkpoint')
      const current = await fingerprint(state)

      const child = startCli(['restore', '--json'], {cwd: dir})
      const result = collectCli(child)
      const parent = path.join(dir, 'state')
      await whileRunning(child, 'the restore began staging', async () => (await fs.readdir(parent)).some((n) => n.startsWith('.alpha.ckpt-restore-')), {everyMs: 10})
      await sleep(50)
      child.kill('SIGKILL')
      assert.equal((await result).signal, 'SIGKILL', 'the restore was still running when it was killed')
      assert.deepEqual(await fingerprint(state), current, 'the state is untouched until the new one is complete')

      const again = await runCli(['restore', '--json'], {cwd: dir})
      assert.equal(again.code, 0, again.stderr)
      assert.deepEqual(await fingerprint(state), checkpointed)
      assert.deepEqual(
        (await fs.readdir(parent)).filter((n) => n.startsWith('.')),
        [],
        'the leftovers of the killed restore are gone',
      )
    } finally {
      await cleanup()
    }
  })
})

void fileKind
