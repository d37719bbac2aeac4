// PostgreSQL with its own snapshot command (examples/postgres/ckpt.basebackup.json): pg_basebackup
// fills the snapshot folder as the user postgres, and a restore of it starts by backup recovery
// with exactly the rows committed before the take. `.ci/run` installs PostgreSQL; never skipped.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {collectCli, startCli} from '../helpers/cli.js'
import {postgresExample, type PostgresExample} from '../helpers/postgres.js'
import {waitFor} from '../helpers/run-job.js'

describe('PostgreSQL with pg_basebackup as its snapshot command (examples/postgres/ckpt.basebackup.json)', {timeout: 120_000}, () => {
  let pg: PostgresExample
  before(async () => (pg = await postgresExample()))
  after(() => pg.cleanup())

  /** Starts `ckpt run` with the example's job and waits until PostgreSQL answers. */
  async function startRun(interval: string) {
    const run = startCli(['run', '-j', 'ckpt.basebackup.json', '--interval', interval, '--json'], {cwd: pg.dir})
    const result = collectCli(run, 100_000)
    let notes = ''
    run.stderr!.on('data', (chunk: Buffer) => (notes += chunk))
    await pg.waitAnswers('under ckpt run', run, () => notes)
    return {run, result, notes: () => notes}
  }

  it('restores a base backup that starts with the rows committed before the take, and passes pg_checksums', async () => {
    // The run takes the checkpoint (a `checkpoint take` beside a live run is refused): its first
    // tick comes 15 s after the start, and the second, 15 s later, never comes before the stop.
    const first = await startRun('15s')
    try {
      assert.equal((await pg.query('CREATE TABLE rows (n int PRIMARY KEY); INSERT INTO rows SELECT generate_series(1, 1000)')).code, 0)
      await waitFor('checkpoint chk-1 by the run', () => /checkpoint chk-1 completed/.test(first.notes()), 40_000, first.notes)
      assert.equal((await pg.query('INSERT INTO rows SELECT generate_series(1001, 2000)')).code, 0)
    } finally {
      first.run.kill('SIGTERM')
      assert.equal((await first.result).code, 130, first.notes())
      pg.stopLeftover()
    }

    const second = await startRun('0')
    try {
      assert.match(second.notes(), /restored checkpoint chk-1 in .*\(pg local\)/)
      assert.equal((await pg.query('SELECT count(*) FROM rows')).stdout.trim(), '1000')
      await waitFor('backup recovery in the log', () => /\[pg\].*completed backup recovery/.test(second.notes()), 5000, second.notes)
    } finally {
      second.run.kill('SIGTERM')
      assert.equal((await second.result).code, 130, second.notes())
      pg.stopLeftover()
    }
    const checksums = await pg.tool('pg_checksums', ['--check', '-D', pg.stateDir])
    assert.equal(checksums.code, 0, `pg_checksums: ${checksums.stdout}${checksums.stderr}`)
  })
})
