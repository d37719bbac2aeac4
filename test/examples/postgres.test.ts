// A real database under `ckpt run` (examples/postgres): PostgreSQL from Debian's packages runs as
// the user postgres, rows are written while checkpoints are taken, the postmaster is killed with
// kill -9, and ckpt restores and restarts it. PostgreSQL must start, recover from its WAL, hold
// the rows of a completed checkpoint (no fewer, and none that were never committed) and pass
// pg_checksums after a clean stop. `.ci/run` installs PostgreSQL; this test never skips.
import assert from 'node:assert/strict'
import {execFileSync, spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {createInterface} from 'node:readline'
import {after, before, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {collectCli, startCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/primaries.js'
import {waitFor} from '../helpers/run-job.js'

/** Debian puts the server under /usr/lib/postgresql/VERSION/bin, outside PATH; the newest wins. */
function postgresBin(): string {
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb'))) : []
  const newest = versions.sort((a, b) => Number(a) - Number(b)).at(-1)
  if (newest) return path.join(root, newest, 'bin')
  const which = spawnSync('sh', ['-c', 'command -v initdb'], {encoding: 'utf8'})
  if (which.status === 0) return path.dirname(which.stdout.trim())
  assert.fail('PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin or on PATH): install it with `apt-get install -y postgresql`, as .ci/run does')
}

const idOf = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], {encoding: 'utf8'}).trim())

/** Inserts rows 1, 2, 3, ... one transaction each through one psql, and remembers when each was sent and committed. */
class Writer {
  sent = 0
  committed = 0
  readonly timeline: Array<{at: number; sent: number; committed: number}> = []
  private readonly psql: ChildProcess
  readonly done: Promise<void>

  constructor(psql: (args: string[], stdio: 'pipe') => ChildProcess) {
    this.psql = psql(['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1'], 'pipe')
    this.done = new Promise((resolve) => this.psql.on('close', () => resolve()))
    createInterface({input: this.psql.stdout!}).on('line', (line) => {
      if (Number(line) !== this.sent) return
      this.committed = this.sent
      this.note()
      this.next()
    })
    this.psql.stdin!.on('error', () => {}) // the server goes away under it
    this.next()
  }

  private note(): void {
    this.timeline.push({at: Date.now(), sent: this.sent, committed: this.committed})
  }

  private next(): void {
    this.sent++
    this.note()
    this.psql.stdin!.write(`INSERT INTO rows VALUES (${this.sent}) RETURNING n;\n`)
  }

  /** The timeline's last point at or before `at`. */
  at(at: number): {sent: number; committed: number} {
    return this.timeline.filter((p) => p.at <= at).at(-1) ?? {sent: 0, committed: 0}
  }

  stop(): void {
    this.psql.kill('SIGKILL')
  }
}

describe('PostgreSQL under ckpt run (examples/postgres)', {timeout: 120_000}, () => {
  let dir: string
  let cleanup: () => Promise<void>
  before(async () => {
    ;({dir, cleanup} = await tempDir('ckpt-postgres-'))
    await fs.chmod(dir, 0o755) // the user postgres must reach its data folder
  })
  after(() => cleanup())

  it('restores and restarts a killed postmaster; it recovers from its WAL with the rows of a completed checkpoint, and pg_checksums passes', async () => {
    const started = Date.now()
    const bin = postgresBin()
    const postgres = {uid: idOf('-u'), gid: idOf('-g')}
    const stateDir = path.join(dir, 'state', 'pg')
    const socketDir = path.join(dir, 'socket')
    const port = String(20_000 + (process.pid % 20_000))
    for (const d of [stateDir, socketDir]) {
      await fs.mkdir(d, {recursive: true})
      await fs.chown(d, postgres.uid, postgres.gid)
    }
    const asPostgres = (tool: string, args: string[], stdio: 'pipe' | 'ignore' = 'pipe') =>
      spawn(path.join(bin, tool), args, {cwd: dir, ...postgres, stdio, env: {PATH: process.env.PATH, LC_ALL: 'C'}})
    const runTool = (tool: string, args: string[]) => collectCli(asPostgres(tool, args), 30_000)
    const psql = (args: string[], stdio: 'pipe') => asPostgres('psql', ['-h', socketDir, '-p', port, '-d', 'postgres', ...args], stdio)
    const query = async (sql: string) => runTool('psql', ['-h', socketDir, '-p', port, '-d', 'postgres', '-X', '-A', '-t', '-c', sql])

    const initdb = await runTool('initdb', ['-D', stateDir, '--data-checksums', '--auth=trust', '--no-sync', '--wal-segsize=1'])
    assert.equal(initdb.code, 0, initdb.stderr)
    const job = {
      job: 'pg',
      primary: 'primary',
      localRoots: ['local'],
      checkpoint: {interval: '1s'},
      run: {restartDelay: '100ms', stopTimeout: '30s'},
      tasks: [{id: 'pg', user: 'postgres', stateDir: 'state/pg', command: [path.join(bin, 'postgres'), '-D', stateDir, '-k', socketDir, '-p', port, '-c', 'listen_addresses=']}],
    }
    await fs.writeFile(path.join(dir, 'ckpt.json'), JSON.stringify(job, null, 2))

    const run = startCli(['run', '--json'], {cwd: dir})
    const result = collectCli(run, 100_000)
    let notes = ''
    run.stderr!.on('data', (chunk: Buffer) => (notes += chunk))
    const seen = () => notes
    const answers = async () => (await query('SELECT 1')).code === 0
    const waitAnswers = async (what: string) => {
      const deadline = Date.now() + 30_000
      while (!(await answers())) {
        if (Date.now() > deadline || run.exitCode !== null) assert.fail(`PostgreSQL did not answer ${what}; ckpt run said:\n${notes}`)
        await sleep(100)
      }
    }
    let writer: Writer | undefined
    try {
      await waitAnswers('after ckpt run started it')
      assert.equal((await query('CREATE TABLE rows (n int PRIMARY KEY)')).code, 0)
      writer = new Writer(psql)
      const completed = () => [...notes.matchAll(/checkpoint (chk-\d+) completed/g)].map((m) => m[1])
      const before = completed().length
      await waitFor('three checkpoints while rows are written', () => completed().length >= before + 3, 40_000, seen)

      // The newest checkpoint completed before the crash is the one ckpt must restore.
      const postmaster = Number(readFileSync(path.join(stateDir, 'postmaster.pid'), 'utf8').split('\n')[0])
      const killedAt = Date.now()
      process.kill(postmaster, 'SIGKILL')
      const atKill = {sent: writer.sent, committed: writer.committed}
      await writer.done
      await waitFor('ckpt to restore after the crash', () => /restored checkpoint chk-\d+ in .*\(pg local\)/.test(notes.slice(notes.indexOf('killed by SIGKILL'))), 30_000, seen)
      const restoredAt = Date.now()
      await waitAnswers('after the restore')
      const answeredAt = Date.now()
      const restoredId = /restored checkpoint (chk-\d+)/.exec(notes.slice(notes.indexOf('killed by SIGKILL')))![1]

      const counted = await query('SELECT count(*), coalesce(max(n), 0) FROM rows')
      assert.equal(counted.code, 0, counted.stderr)
      const [count, max] = counted.stdout.trim().split('|').map(Number)
      assert.equal(count, max, 'the rows are a prefix 1..n: every transaction is all there or not at all')
      const manifest = JSON.parse(await fs.readFile(path.join(dir, 'primary', 'pg', 'manifests', `${restoredId}.json`), 'utf8'))
      // Rows committed before the take began are in it; rows sent after it completed cannot be.
      const atStart = writer.at(Date.parse(manifest.createdAt))
      const atEnd = writer.at(Date.parse(manifest.completedAt))
      assert.ok(atStart.committed > 0, `rows were committed before ${restoredId} began`)
      assert.ok(count >= atStart.committed, `${count} rows, fewer than the ${atStart.committed} committed before ${restoredId} began`)
      assert.ok(count <= atEnd.sent, `${count} rows, more than the ${atEnd.sent} sent before ${restoredId} completed`)
      assert.ok(count <= atKill.committed, `${count} rows, more than the ${atKill.committed} committed before the crash`)
      assert.match(notes.slice(notes.indexOf('killed by SIGKILL')), /\[pg\].*(automatic recovery in progress|redo starts at)/, 'PostgreSQL recovered from its WAL')
      const mode = await fs.stat(stateDir)
      assert.deepEqual([mode.mode & 0o7777, mode.uid, mode.gid], [0o700, postgres.uid, postgres.gid], 'the data folder is postgres-only, as initdb made it')
      writer = undefined

      run.kill('SIGTERM')
      const r = await result
      assert.equal(r.code, 130, notes)
      const failovers = r.json.recoveries.filter((x: {trigger: string}) => x.trigger === 'failover')
      assert.deepEqual(failovers.map((x: {checkpointId: string; source: string}) => [x.checkpointId, x.source]), [[restoredId, 'local']])
      assert.ok(r.json.checkpoints.every((c: {pauseMs: number}) => c.pauseMs < 5000))
      const checksums = await runTool('pg_checksums', ['--check', '-D', stateDir])
      assert.equal(checksums.code, 0, `pg_checksums: ${checksums.stdout}${checksums.stderr}`)
      assert.match(checksums.stdout, /Bad checksums: *0/)
      const control = await runTool('pg_controldata', ['-D', stateDir])
      assert.match(control.stdout, /Database cluster state: *shut down/)
      const timing = `crash to restored ${restoredAt - killedAt} ms, to answering ${answeredAt - killedAt} ms, whole test ${Date.now() - started} ms`
      console.log(`postgres: ${atKill.committed} rows committed before the crash, ${count} restored from ${restoredId} (${atStart.committed} committed when it began); ${timing}`)
    } finally {
      writer?.stop()
      if (run.exitCode === null) run.kill('SIGKILL')
      await result
      // A postmaster left by a failed run would hold the socket folder; its pid file says which one.
      const pidFile = path.join(stateDir, 'postmaster.pid')
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0])
        try {
          if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres')) process.kill(pid, 'SIGQUIT')
        } catch {
          // gone
        }
      }
    }
  })
})
