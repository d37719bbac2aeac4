// A real database under `ckpt run` (examples/postgres): PostgreSQL from Debian's packages runs as
// the user postgres, rows are written while checkpoints are taken, the postmaster is killed with
// kill -9, and ckpt restores and restarts it. PostgreSQL must start, recover from its WAL, hold
// the rows of a completed checkpoint (no fewer, and none that were never committed) and pass
// pg_checksums after a clean stop. `.ci/run` installs PostgreSQL; this test never skips.
import assert from 'node:assert/strict'
import {execFileSync, type ChildProcess} from 'node:child_process'
import {readFileSync} from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {createInterface} from 'node:readline'
import {after, before, describe, it} from 'node:test'
import {collectCli, startCli} from '../helpers/cli.js'
import {postgresExample, type PostgresExample} from '../helpers/postgres.js'
import {waitFor} from '../helpers/run-job.js'

/** Inserts rows 1, 2, 3, ... one transaction each through one psql, and remembers when each was sent and committed. */
class Writer {
  sent = 0
  committed = 0
  readonly timeline: Array<{at: number; sent: number; committed: number}> = []
  private readonly psql: ChildProcess
  readonly done: Promise<void>

  constructor(psql: ChildProcess) {
    this.psql = psql
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

describe('PostgreSQL under ckpt run (examples/postgres/ckpt.json: paused capture)', {timeout: 120_000}, () => {
  let pg: PostgresExample
  before(async () => (pg = await postgresExample()))
  after(() => pg.cleanup())

  it('restores and restarts a killed postmaster; it recovers from its WAL with the rows of a completed checkpoint, and pg_checksums passes', async () => {
    const started = Date.now()
    const {dir, stateDir} = pg
    const run = startCli(['run', '--json', '--interval', '1s', '--restart-delay', '100ms'], {cwd: dir})
    const result = collectCli(run, 100_000)
    let notes = ''
    run.stderr!.on('data', (chunk: Buffer) => (notes += chunk))
    const seen = () => notes
    let writer: Writer | undefined
    try {
      await pg.waitAnswers('after ckpt run started it', run, seen)
      assert.equal((await pg.query('CREATE TABLE rows (n int PRIMARY KEY)')).code, 0)
      writer = new Writer(pg.start('psql', ['-h', path.join(dir, 'socket'), '-p', '5433', '-d', 'postgres', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1']))
      const completed = () => [...notes.matchAll(/checkpoint (chk-\d+) completed/g)].map((m) => m[1])
      const before = completed().length
      await waitFor('two checkpoints while rows are written', () => completed().length >= before + 2, 40_000, seen)

      // The newest checkpoint completed before the crash is the one ckpt must restore.
      const postmaster = Number(readFileSync(path.join(stateDir, 'postmaster.pid'), 'utf8').split('\n')[0])
      const killedAt = Date.now()
      process.kill(postmaster, 'SIGKILL')
      const atKill = {sent: writer.sent, committed: writer.committed}
      await writer.done
      const afterCrash = () => notes.slice(notes.indexOf('killed by SIGKILL'))
      await waitFor('ckpt to restore after the crash', () => /restored checkpoint chk-\d+ in .*\(pg local\)/.test(afterCrash()), 30_000, seen)
      const restoredAt = Date.now()
      await pg.waitAnswers('after the restore', run, seen)
      const answeredAt = Date.now()
      const restoredId = /restored checkpoint (chk-\d+)/.exec(afterCrash())![1]

      const counted = await pg.query('SELECT count(*), coalesce(max(n), 0) FROM rows')
      assert.equal(counted.code, 0, counted.stderr)
      const [count, max] = counted.stdout.trim().split('|').map(Number)
      assert.equal(count, max, 'the rows are a prefix 1..n: every transaction is all there or not at all')
      const manifest = JSON.parse(await fs.readFile(path.join(dir, '.ckpt', 'primary', 'postgres', 'manifests', `${restoredId}.json`), 'utf8'))
      // Rows committed before the take began are in it; rows sent after it completed cannot be.
      const atStart = writer.at(Date.parse(manifest.createdAt))
      const atEnd = writer.at(Date.parse(manifest.completedAt))
      assert.ok(atStart.committed > 0, `rows were committed before ${restoredId} began`)
      assert.ok(count >= atStart.committed, `${count} rows, fewer than the ${atStart.committed} committed before ${restoredId} began`)
      assert.ok(count <= atEnd.sent, `${count} rows, more than the ${atEnd.sent} sent before ${restoredId} completed`)
      // Not `count <= atKill.committed`: the writer counts a commit when psql's answer reaches it, after
      // the server committed it, so a checkpoint completed just before the kill may hold a row or two
      // whose answers were still in the pipe (seen once: 7282 rows, 7280 answers read). The bound that
      // holds is the rows sent before the checkpoint completed (above) and hence before the crash.
      assert.ok(count <= atKill.sent, `${count} rows, more than the ${atKill.sent} sent before the crash`)
      assert.match(afterCrash(), /\[pg\].*(automatic recovery in progress|redo starts at)/, 'PostgreSQL recovered from its WAL')
      const st = await fs.stat(stateDir)
      assert.deepEqual([st.mode & 0o7777, st.uid], [0o700, Number(execFileSync('id', ['-u', 'postgres'], {encoding: 'utf8'}))], 'the data folder is postgres-only, as initdb made it')
      writer = undefined

      run.kill('SIGTERM')
      const r = await result
      assert.equal(r.code, 130, notes)
      const failovers = r.json.recoveries.filter((x: {trigger: string}) => x.trigger === 'failover')
      assert.deepEqual(
        failovers.map((x: {checkpointId: string; source: string}) => [x.checkpointId, x.source]),
        [[restoredId, 'local']],
      )
      const checksums = await pg.tool('pg_checksums', ['--check', '-D', stateDir])
      assert.equal(checksums.code, 0, `pg_checksums: ${checksums.stdout}${checksums.stderr}`)
      assert.match(checksums.stdout, /Bad checksums: *0/)
      assert.match((await pg.tool('pg_controldata', ['-D', stateDir])).stdout, /Database cluster state: *shut down/)
      const timing = `crash to restored ${restoredAt - killedAt} ms, to answering ${answeredAt - killedAt} ms, whole test ${Date.now() - started} ms`
      console.log(`postgres: ${atKill.committed} rows committed before the crash, ${count} restored from ${restoredId} (${atStart.committed} committed when it began); ${timing}`)
    } finally {
      writer?.stop()
      if (run.exitCode === null) run.kill('SIGKILL')
      await result
      pg.stopLeftover()
    }
  })
})
