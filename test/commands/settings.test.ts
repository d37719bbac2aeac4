// Where the primary and the local roots are, through the built CLI (issue 11 items 3, 16, 22, 27, 28).
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {runCli} from '../helpers/cli.js'
import {exists, listFiles, writeJob} from '../helpers/job.js'
import {tempDir} from '../helpers/primaries.js'

describe('primary and local roots on the command line', () => {
  it('resolves a relative --primary and CKPT_PRIMARY against the working folder, not the job file', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const jobDir = path.join(dir, 'job')
      const cwd = path.join(dir, 'elsewhere')
      await fs.mkdir(jobDir, {recursive: true})
      await fs.mkdir(cwd, {recursive: true})
      const jobFile = await writeJob(jobDir, {tasks: [{id: 'a'}]})
      await fs.writeFile(path.join(jobDir, 'state', 'a', 'f.txt'), 'x')
      const flag = await runCli(['checkpoint', 'take', '-j', jobFile, '--primary', 'rel-flag', '--json'], {cwd})
      assert.equal(flag.code, 0, flag.stderr)
      assert.ok(await exists(path.join(cwd, 'rel-flag', 'testjob', 'manifests', 'chk-1.json')), 'the flag resolves against the working folder')
      assert.equal(await exists(path.join(jobDir, 'rel-flag')), false, 'nothing beside the job file')
      const env = await runCli(['checkpoint', 'take', '-j', jobFile, '--json'], {cwd, env: {CKPT_PRIMARY: 'rel-env'}})
      assert.equal(env.code, 0, env.stderr)
      assert.ok(await exists(path.join(cwd, 'rel-env', 'testjob', 'manifests', 'chk-1.json')), 'CKPT_PRIMARY resolves against the working folder')
      assert.equal(await exists(path.join(jobDir, 'rel-env')), false)
    } finally {
      await cleanup()
    }
  })

  it('refuses a missing file primary for commands that only read it (exit 5, nothing created); take creates it and says so', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const jobFile = await writeJob(dir, {tasks: [{id: 'a'}]})
      await fs.writeFile(path.join(dir, 'state', 'a', 'f.txt'), 'x')
      const missing = path.join(dir, 'primray')
      for (const args of [
        ['checkpoint', 'list'],
        ['checkpoint', 'show', 'latest'],
        ['checkpoint', 'verify'],
        ['restore'],
        ['restore', '--plan'],
        ['local', 'list'],
        ['checkpoint', 'prune'],
        ['status'],
      ]) {
        const r = await runCli([...args, '-j', jobFile, '--primary', missing, '--json'])
        assert.equal(r.code, 5, `${args.join(' ')}: ${r.stdout} ${r.stderr}`)
        assert.match(r.json.error.message, new RegExp(`primary store ${missing} does not exist.*create`))
        assert.equal(await exists(missing), false, `${args.join(' ')} created nothing`)
      }
      const take = await runCli(['checkpoint', 'take', '-j', jobFile, '--primary', missing, '--json'])
      assert.equal(take.code, 0, take.stderr)
      assert.equal(take.json.createdPrimary, true)
      assert.match(take.stderr, new RegExp(`created a new primary store at ${missing}`))
      const again = await runCli(['checkpoint', 'take', '-j', jobFile, '--primary', missing, '--json'])
      assert.equal(again.code, 0, again.stderr)
      assert.equal(again.json.createdPrimary, undefined)
      assert.doesNotMatch(again.stderr, /created a new primary store/)
      const list = await runCli(['checkpoint', 'list', '-j', jobFile, '--primary', missing, '--json'])
      assert.equal(list.code, 0, list.stderr)
      assert.equal(list.json.checkpoints.length, 2)
    } finally {
      await cleanup()
    }
  })

  it('keeps both copies when two local roots are one folder through a link', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      await fs.mkdir(path.join(dir, 'roots'), {recursive: true})
      await fs.symlink(path.join(dir, 'roots'), path.join(dir, 'roots-link'))
      const jobFile = await writeJob(dir, {tasks: [{id: 'a'}, {id: 'b'}], localRoots: ['roots', 'roots-link']})
      for (const id of ['a', 'b']) await fs.writeFile(path.join(dir, 'state', id, 'f.txt'), id)
      const take = await runCli(['checkpoint', 'take', '-j', jobFile, '--json'])
      assert.equal(take.code, 0, take.stderr)
      assert.deepEqual(
        take.json.tasks.map((t: any) => t.secondary),
        ['written', 'written'],
      )
      const copies = (await listFiles(path.join(dir, 'roots'))).filter((f) => f.endsWith('copy.json'))
      assert.deepEqual(copies, ['test-node/testjob/a/chk-1/copy.json', 'test-node/testjob/b/chk-1/copy.json'], 'a copy reported written is there')
      const plan = await runCli(['restore', '--plan', '-j', jobFile, '--json'])
      assert.deepEqual(
        plan.json.tasks.map((t: any) => t.source),
        ['local', 'local'],
      )
    } finally {
      await cleanup()
    }
  })

  it('refuses a stateDir that holds the primary with exit 2 and leaves the primary alone', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const jobFile = await writeJob(dir, {tasks: [{id: 'a'}]})
      await fs.writeFile(path.join(dir, 'state', 'a', 'f.txt'), 'x')
      assert.equal((await runCli(['checkpoint', 'take', '-j', jobFile])).code, 0)
      await writeJob(dir, {tasks: [{id: 'a', stateDir: '.'}]})
      const restore = await runCli(['restore', '-j', jobFile, '--json'])
      assert.equal(restore.code, 2, restore.stdout)
      assert.match(restore.json.error.message, /tasks\[0\]\.stateDir .* contains the job file .*contains the primary store .*\.ckpt\/primary/)
      assert.ok(await exists(path.join(dir, '.ckpt', 'primary', 'testjob', 'manifests', 'chk-1.json')))
    } finally {
      await cleanup()
    }
  })

  it('refuses a NUL byte in a job file value with exit 2 naming the field', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      await fs.writeFile(path.join(dir, 'ckpt.json'), JSON.stringify({job: 'x', tasks: [{id: 'a', stateDir: 'st\u0000ate'}]}))
      const r = await runCli(['checkpoint', 'take', '--json'], {cwd: dir})
      assert.equal(r.code, 2, r.stdout)
      assert.match(r.json.error.message, /tasks\[0\]\.stateDir: must not contain a NUL byte/)
      await fs.writeFile(path.join(dir, 'ckpt.json'), `{"job": "x", "checkpoint": {"interval": ${'['.repeat(100_000)}${']'.repeat(100_000)}}, "tasks": [{"id": "a", "stateDir": "s"}]}`)
      const deep = await runCli(['checkpoint', 'list', '--json'], {cwd: dir})
      assert.equal(deep.code, 2, deep.stdout)
      assert.match(deep.json.error.message, /checkpoint\.interval: an array is not a duration/)
    } finally {
      await cleanup()
    }
  })
})
