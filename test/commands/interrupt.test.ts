// SIGINT and SIGTERM in the middle of take, restore, verify and prune (issue 11 item 12): the
// command removes what it made (lock, temporary objects, partial copy, staging, snapshot folder),
// prints the JSON error document under --json and exits 130.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import * as fs from 'node:fs/promises'
import {hostname, tmpdir} from 'node:os'
import * as path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {after, before, describe, it} from 'node:test'
import {collectCli, runCli, startCli, type CliResult} from '../helpers/cli.js'
import {tempDir} from '../helpers/primaries.js'
import {writeJob} from '../helpers/job.js'

const BIG = 384 << 20

/** Every path below root whose name matches. */
async function findNames(root: string, match: RegExp): Promise<string[]> {
  const out: string[] = []
  const walk = async (dir: string) => {
    for (const entry of await fs.readdir(dir, {withFileTypes: true}).catch(() => [])) {
      const abs = path.join(dir, entry.name)
      if (match.test(entry.name)) out.push(abs)
      if (entry.isDirectory()) await walk(abs)
    }
  }
  await walk(root)
  return out
}

async function waitUntil(what: string, check: () => Promise<boolean>, limitMs = 60_000): Promise<void> {
  const deadline = Date.now() + limitMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

async function bigState(dir: string): Promise<void> {
  const handle = await fs.open(path.join(dir, 'big.bin'), 'w')
  const block = randomBytes(4 << 20)
  for (let written = 0; written < BIG; written += block.length) {
    // Every 1 MiB unique: format 2 stores equal chunks once, and the commands here need bytes to work on.
    for (let at = 0; at < block.length; at += 1 << 20) block.writeUInt32BE((written + at) >>> 0, at)
    await handle.write(block)
  }
  await handle.close()
  await fs.writeFile(path.join(dir, 'small.txt'), 'small\n')
}

function assertInterrupted(r: CliResult, signal: string): void {
  assert.equal(r.code, 130, `exit ${r.code} signal ${r.signal}\n${r.stdout}\n${r.stderr}`)
  assert.deepEqual(Object.keys(r.json), ['error'])
  assert.equal(r.json.error.code, 'INTERRUPTED')
  assert.equal(r.json.error.exit, 130)
  assert.match(r.json.error.message, new RegExp(`interrupted by ${signal}`))
}

describe('an interrupted command', {timeout: 240_000}, () => {
  let dir: string
  let cleanup: () => Promise<void>
  let jobFile: string
  let primary: string
  let local: string
  before(async () => {
    ;({dir, cleanup} = await tempDir('ckpt-interrupt-'))
    jobFile = await writeJob(dir, {primary: 'primary', localRoots: ['local'], tasks: [{id: 'big'}]})
    primary = path.join(dir, 'primary')
    local = path.join(dir, 'local')
    await bigState(path.join(dir, 'state', 'big'))
  })
  after(() => cleanup())

  const locks = () => fs.readdir(path.join(primary, 'testjob', 'locks')).catch(() => [] as string[])

  it('take: SIGINT mid-upload removes the lock, the temporary object and the partial copy, and exits 130', async () => {
    const child = startCli(['checkpoint', 'take', '-j', jobFile, '--json'])
    const result = collectCli(child)
    await waitUntil('a temporary object and a partial copy', async () => (await findNames(primary, /^\.ckpt-tmp-/)).length > 0 && (await findNames(local, /\.partial-/)).length > 0)
    child.kill('SIGINT')
    const r = await result

    assertInterrupted(r, 'SIGINT')
    assert.deepEqual(await findNames(primary, /^\.ckpt-tmp-/), [])
    assert.deepEqual(await findNames(local, /\.partial-/), [])
    assert.deepEqual(await locks(), [])
  })

  it('take: SIGTERM while a snapshot command runs kills it and removes its snapshot folder', async () => {
    const d = path.join(dir, 'snap')
    await fs.mkdir(d)
    const marker = path.join(d, 'snapshot-started')
    const job = await writeJob(d, {primary: 'primary', localRoots: ['local'], tasks: [{id: 'db', snapshot: {command: `touch '${marker}'; echo $$ > '${marker}'; sleep 60`}}]})
    const child = startCli(['checkpoint', 'take', '-j', job, '--json'])
    const result = collectCli(child)
    await waitUntil('the snapshot command', async () => (await fs.readFile(marker, 'utf8').catch(() => '')).trim() !== '')
    const snapshotPid = Number((await fs.readFile(marker, 'utf8')).trim())
    child.kill('SIGTERM')
    const r = await result

    assertInterrupted(r, 'SIGTERM')
    const left = (await fs.readdir(tmpdir())).filter((n) => n.startsWith(`ckpt-snapshot-${child.pid}-`))
    assert.deepEqual(left, [])
    await waitUntil(
      'the snapshot command to be gone',
      async () =>
        !(await fs.stat(`/proc/${snapshotPid}`).then(
          () => true,
          () => false,
        )),
      5000,
    )
    assert.deepEqual(await fs.readdir(path.join(d, 'primary', 'testjob', 'locks')).catch(() => []), [])
  })

  it('restore: SIGINT while staging removes the staging folder and the lock, and leaves the old state', async () => {
    const taken = await runCli(['checkpoint', 'take', '-j', jobFile, '--json'])
    assert.equal(taken.code, 0, taken.stdout + taken.stderr)
    await fs.writeFile(path.join(dir, 'state', 'big', 'small.txt'), 'changed\n')
    const child = startCli(['restore', '-j', jobFile, '--prefer', 'remote', '--json'])
    const result = collectCli(child)
    await waitUntil('a staging folder', async () => (await fs.readdir(path.join(dir, 'state'))).some((n) => n.startsWith('.big.ckpt-restore-')))
    child.kill('SIGINT')
    const r = await result

    assertInterrupted(r, 'SIGINT')
    assert.deepEqual((await fs.readdir(path.join(dir, 'state'))).sort(), ['big'])
    assert.equal(await fs.readFile(path.join(dir, 'state', 'big', 'small.txt'), 'utf8'), 'changed\n')
    assert.deepEqual(await locks(), [])
  })

  it('verify: SIGTERM while reading data removes the lock and exits 130', async () => {
    const child = startCli(['checkpoint', 'verify', '--all', '--read-data', '-j', jobFile, '--json'])
    const result = collectCli(child)
    await waitUntil('the verify lock', async () => (await locks()).length > 0)
    await sleep(100)
    child.kill('SIGTERM')
    const r = await result

    assertInterrupted(r, 'SIGTERM')
    assert.deepEqual(await locks(), [])
  })

  it("prune: SIGINT while waiting for its lock leaves only the other holder's lock", async () => {
    const other = {
      format: 1,
      lockId: 'shared-other',
      mode: 'shared',
      purpose: 'take',
      job: 'testjob',
      node: 'elsewhere',
      host: hostname(),
      pid: process.pid,
      createdAt: new Date().toISOString(),
      refreshedAt: new Date().toISOString(),
    }
    await fs.mkdir(path.join(primary, 'testjob', 'locks'), {recursive: true})
    await fs.writeFile(path.join(primary, 'testjob', 'locks', 'shared-other.json'), JSON.stringify(other))
    const child = startCli(['checkpoint', 'prune', '--retain', '1', '-j', jobFile, '--json'])
    const result = collectCli(child)
    await waitUntil('the prune lock', async () => (await locks()).some((n) => n.startsWith('exclusive-')))
    child.kill('SIGINT')
    const r = await result

    assertInterrupted(r, 'SIGINT')
    assert.deepEqual(await locks(), ['shared-other.json'])
    await fs.rm(path.join(primary, 'testjob', 'locks', 'shared-other.json'))
  })

  it('two signals in a row still exit 130', async () => {
    const d = path.join(dir, 'twice')
    await fs.mkdir(d)
    const job = await writeJob(d, {primary: 'primary', localRoots: ['local'], tasks: [{id: 'db', snapshot: {command: 'sleep 60'}}]})
    const child = startCli(['checkpoint', 'take', '-j', job, '--json'])
    const result = collectCli(child)
    await waitUntil('the snapshot folder', async () => (await fs.readdir(tmpdir())).some((n) => n.startsWith(`ckpt-snapshot-${child.pid}-`)))
    child.kill('SIGINT')
    child.kill('SIGINT')
    const r = await result
    assert.equal(r.code, 130, r.stdout + r.stderr)
  })
})
