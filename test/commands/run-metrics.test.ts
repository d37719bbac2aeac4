// `ckpt run` for logs and dashboards (issue 15 items 1 and 6): it logs each checkpoint's start and
// end with uploaded and reused bytes, serves Prometheus metrics on 127.0.0.1 that promtool accepts,
// and writes them to a textfile for node_exporter, replaced whole.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {collectCli, runCli, startCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/primaries.js'
import {counterTask, waitFor, writeJob} from '../helpers/run-job.js'

/** promtool's verdict on an exposition: its output, empty when it is clean. */
function promtool(text: string): string {
  try {
    return execFileSync('promtool', ['check', 'metrics'], {input: text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe']})
  } catch (error) {
    const e = error as {stdout?: string; stderr?: string; status?: number}
    return `exit ${e.status}: ${e.stdout}${e.stderr}`
  }
}

/** The value of one sample, e.g. value(text, 'ckpt_checkpoints_total{outcome="completed"}'). */
function value(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const [name, v] = [line.slice(0, line.lastIndexOf(' ')), line.slice(line.lastIndexOf(' ') + 1)]
    const wanted = series.replace(/\{(.*)\}$/, '')
    const labels = /\{(.*)\}$/.exec(series)?.[1]?.split(',') ?? []
    if ((name === wanted || name.startsWith(`${wanted}{`)) && labels.every((l) => name.includes(l))) return Number(v)
  }
  return undefined
}

describe('ckpt run metrics and log', {timeout: 120_000}, () => {
  let dir: string
  let cleanup: () => Promise<void>
  before(async () => ({dir, cleanup} = await tempDir('ckpt-metrics-')))
  after(() => cleanup())

  it('logs checkpoints and recoveries, serves metrics that promtool accepts, and writes the textfile', async () => {
    assert.ok(execFileSync('promtool', ['--version'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']}).length > 0, 'promtool (Debian package prometheus) is installed')
    // The first run only leaves a checkpoint to restore; task a crashes once in the second run (not in
    // the first, however long the first takes to start on a loaded machine).
    await writeJob(dir, [counterTask(dir, 'a'), counterTask(dir, 'b')], {primary: 'primary'})
    // --checkpoint-on-exit: a checkpoint even when no interval's came in time on a loaded machine.
    const first = await runCli(['run', '--interval', '200ms', '--duration', '1s', '--checkpoint-on-exit', '--json'], {cwd: dir})
    assert.equal(first.code, 0, first.stderr)
    assert.ok(first.json.checkpoints.length >= 1, `the first run left no checkpoint: ${first.stdout.slice(0, 2000)}`)
    await writeJob(dir, [counterTask(dir, 'a', {CRASH_AFTER: '8', CRASH_ONCE: path.join(dir, 'crashed-once')}), counterTask(dir, 'b')], {primary: 'primary'})
    const textfile = path.join(dir, 'ckpt.prom')
    const child = startCli(['run', '--interval', '250ms', '--restart-delay', '10ms', '--metrics-port', '127.0.0.1:0', '--metrics-file', textfile, '--json'], {cwd: dir})
    const result = collectCli(child)
    let notes = ''
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (notes += chunk))
    await waitFor(
      'the metrics address',
      () => /serving Prometheus metrics at (\S+)/.test(notes),
      30_000,
      () => notes,
    )
    const url = /serving Prometheus metrics at (\S+)/.exec(notes)![1]
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    await waitFor(
      'a restart and two checkpoints after it',
      () => /restoring and restarting/.test(notes) && (notes.split(/restoring and restarting/)[1].match(/checkpoint chk-\d+ completed/g) ?? []).length >= 2,
      60_000,
      () => notes,
    )
    const response = await fetch(url)
    assert.equal(response.status, 200)
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
    const scraped = await response.text()
    child.kill('SIGTERM')
    const run = await result
    assert.equal(run.code, 130, run.stderr)

    assert.equal(promtool(scraped), '', 'promtool check metrics finds nothing wrong')
    assert.ok(value(scraped, 'ckpt_checkpoints_total{outcome="completed"}')! >= 2, scraped)
    // A checkpoint under way when task a crashes cannot capture it (failover stops every task): the only failure allowed.
    const crossed = (notes.match(/checkpoint chk-\d+ failed: task a failed and awaits recovery/g) ?? []).length
    assert.equal(value(scraped, 'ckpt_checkpoints_total{outcome="failed"}'), crossed, notes)
    assert.equal(value(scraped, 'ckpt_task_restarts_total{task_id="a"}'), 1)
    assert.equal(value(scraped, 'ckpt_task_restarts_total{task_id="b"}'), 0)
    assert.equal(value(scraped, 'ckpt_restores_total{source="local",trigger="start"}'), 2, 'both tasks restored from their local copies at start')
    assert.equal(value(scraped, 'ckpt_restores_total{source="local",trigger="failover"}'), 2, 'job failover: both tasks again')
    assert.ok(value(scraped, 'ckpt_restore_bytes_total{tier="local"}')! > 0)
    assert.equal(value(scraped, 'ckpt_restore_bytes_total{tier="primary"}'), 0)
    assert.equal(value(scraped, 'ckpt_restore_duration_seconds_count{trigger="start"}'), 1)
    const lastId = /ckpt_checkpoint_last_info\{[^}]*checkpoint_id="(chk-\d+)"[^}]*\} 1/.exec(scraped)?.[1]
    assert.ok(lastId, scraped)
    assert.equal(value(scraped, 'ckpt_checkpoint_last_number'), Number(lastId.slice(4)))
    for (const gauge of ['ckpt_checkpoint_last_duration_seconds', 'ckpt_checkpoint_last_size_bytes', 'ckpt_checkpoint_last_uploaded_bytes']) assert.ok(value(scraped, gauge)! > 0, gauge)
    assert.ok(value(scraped, 'ckpt_checkpoint_last_pause_seconds')! >= 0)
    const age = value(scraped, 'ckpt_checkpoint_newest_age_seconds')!
    assert.ok(age >= 0 && age < 30, `age ${age}`)
    assert.ok(value(scraped, 'ckpt_checkpoint_uploaded_bytes_total')! >= value(scraped, 'ckpt_checkpoint_last_uploaded_bytes')!)
    // A counter that did not tick between two takes (a loaded machine) is reused, not uploaded again.
    assert.ok(value(scraped, 'ckpt_checkpoint_reused_bytes_total')! >= 0, scraped)
    assert.match(scraped, /ckpt_job="runner"/)
    assert.match(scraped, /node="test-node"/)

    // The textfile holds the run's final state, whole, with no temporary file left beside it.
    const written = readFileSync(textfile, 'utf8')
    assert.equal(promtool(written), '')
    assert.equal(value(written, 'ckpt_checkpoints_total{outcome="completed"}'), run.json.checkpoints.length)
    const sum = (key: 'uploadedBytes' | 'reusedBytes') => run.json.checkpoints.reduce((n: number, c: Record<string, number>) => n + c[key], 0)
    assert.equal(value(written, 'ckpt_checkpoint_uploaded_bytes_total'), sum('uploadedBytes'))
    assert.equal(value(written, 'ckpt_checkpoint_reused_bytes_total'), sum('reusedBytes'))
    assert.ok(value(written, 'ckpt_checkpoint_reused_bytes_total')! >= value(scraped, 'ckpt_checkpoint_reused_bytes_total')!)
    assert.deepEqual(
      execFileSync('ls', ['-A', dir], {encoding: 'utf8'})
        .split('\n')
        .filter((f) => f.includes('.tmp')),
      [],
    )

    // The log: each checkpoint's start and end, with uploaded and reused bytes; each recovery.
    const started = [...notes.matchAll(/checkpoint (chk-\d+) started \(interval\)/g)].map((m) => m[1])
    const ended = [...notes.matchAll(/checkpoint (chk-\d+) completed in \S+, paused \S+, \S+ \S+ of state, (\S+ \S+) uploaded, \S+ \S+ reused, \d+ files read/g)].map((m) => m[1])
    assert.ok(ended.length >= 2 && ended.every((id) => started.includes(id)), notes)
    assert.match(notes, /restored checkpoint chk-\d+ in \S+ \(a local, b local\)/)
    // Each take uploads its indexes and every counter that ticked since the base; a counter that did
    // not tick is reused whole. Between them they account for every byte of the state.
    for (const c of run.json.checkpoints) {
      assert.ok(c.uploadedBytes > 0 && c.reusedBytes >= 0 && c.reusedBytes <= c.bytes, JSON.stringify(c))
      assert.ok(c.changedFiles > 0 || c.reusedBytes === c.bytes, JSON.stringify(c))
    }
    assert.ok(
      run.json.checkpoints.some((c: {changedFiles: number}) => c.changedFiles > 0),
      JSON.stringify(run.json.checkpoints),
    )
    for (const r of run.json.recoveries) assert.deepEqual([typeof r.localBytes, r.remoteBytes], ['number', 0])
  })

  it('refuses a metrics port it cannot parse, with exit 2', async () => {
    const bad = await runCli(['run', '--metrics-port', 'ninety'], {cwd: dir})
    assert.equal(bad.code, 2, bad.stderr)
    assert.match(bad.stderr, /--metrics-port "ninety": give a port/)
    assert.ok(!existsSync(path.join(dir, 'ninety')))
  })
})
