// Progress that tells the truth (issue 15 item 1): on a real terminal of 40 and 160 columns one
// line per task, redrawn in place and cut to the width, with a total that never grows; "upload"
// only for a remote primary; JSON lines for scripts; a status line every 10 s in a log.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {runCli} from '../helpers/cli.js'
import {FaultProxy} from '../helpers/fault-proxy.js'
import {writeJob, FORMAT_1} from '../helpers/job.js'
import {azureKind, tempDir} from '../helpers/primaries.js'
import {replay, runOnTerminal} from '../helpers/pty.js'

/**
 * Tasks alpha and beta, each with a few files of random bytes. Format 1: these tests follow bytes
 * as they are sent, which format 1 reports per task; format 2 sends packs shared by the tasks and
 * reports per task the bytes it has read and hashed (README, "Progress").
 */
async function jobWithState(dir: string, primary: string, mib: number, extra: Record<string, unknown> = {}): Promise<void> {
  await writeJob(dir, {tasks: [{id: 'alpha'}, {id: 'beta-with-a-longer-id'}], primary, localRoots: ['local'], extra: {...FORMAT_1, ...extra}})
  for (const task of ['alpha', 'beta-with-a-longer-id']) {
    for (let i = 0; i < 3; i++) await fs.writeFile(path.join(dir, 'state', task, `part-${i}.bin`), randomBytes(Math.round((mib << 20) / 3)))
    await fs.writeFile(path.join(dir, 'state', task, 'small.txt'), 'small\n')
  }
}

const LINE = /^(alpha|beta-with-a-longer-id)\s+(reading|uploading|verifying|writing|done)\s+(\d+)%\s+(\S+ \S+)\/(\S+ \S+)\s+(\d+)\/(\d+) files\s+\S+ \S+\/s\s+\d+:\d\d(\s+ETA (\d+:\d\d|\?))?$/

/** Parses the progress lines; checks each task's totals never change within a phase. */
function progressLines(lines: string[]) {
  const parsed = lines.map((l) => LINE.exec(l.trim())).filter((m): m is RegExpExecArray => m !== null)
  const totals = new Map<string, string>()
  for (const m of parsed) {
    if (m[2] === 'done') continue
    const key = `${m[1]} ${m[2]}`
    const total = `${m[5]} ${m[7]}`
    assert.equal(totals.get(key) ?? total, total, `the total of ${key} changed while it ran`)
    totals.set(key, total)
  }
  return parsed
}

describe('progress on a terminal', () => {
  it('draws one line per task, in place, cut to 40 columns and whole at 160; "writing" for a folder primary', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      await jobWithState(dir, path.join(dir, 'primary'), 24)
      // A first take creates the primary (its message may wrap; the progress lines must not).
      assert.equal((await runCli(['checkpoint', 'take', '--json'], {cwd: dir})).code, 0)
      for (const columns of [40, 160]) {
        const run = await runOnTerminal(['checkpoint', 'take'], {cwd: dir, columns, stdoutFile: path.join(dir, `out-${columns}.txt`)})
        assert.equal(run.code, 0, run.screen)
        const screen = replay(run.screen, columns)
        assert.deepEqual(screen.wrapped, [], `lines ran past ${columns} columns`)
        assert.ok(screen.maxRow <= 1, `the cursor went ${screen.maxRow} rows down for 2 tasks: lines scrolled`)
        assert.doesNotMatch(run.screen, /upload/)
        assert.match(run.screen, /\u001B\[2K/, 'lines are redrawn in place')
        if (columns === 40) {
          assert.ok(
            screen.lines.some((l) => /^alpha\s+writing\s+\d+%/.test(l)),
            screen.lines.join('\n'),
          )
          assert.ok(screen.lines.every((l) => l.length < 40))
        } else {
          const parsed = progressLines(screen.lines)
          assert.ok(
            parsed.some((m) => m[1] === 'alpha' && m[2] === 'writing' && m[7] === '4'),
            screen.lines.join('\n'),
          )
          assert.ok(
            parsed.some((m) => m[1] === 'beta-with-a-longer-id'),
            'a line for the second task',
          )
        }
        assert.match(await fs.readFile(path.join(dir, `out-${columns}.txt`), 'utf8'), /Checkpoint chk-\d+ completed/)
      }
      const restore = await runOnTerminal(['restore'], {cwd: dir, columns: 160, stdoutFile: path.join(dir, 'restore.txt')})
      assert.equal(restore.code, 0, restore.screen)
      assert.ok(
        progressLines(replay(restore.screen, 160).lines).some((m) => m[2] === 'verifying'),
        'a restore from the local copy verifies',
      )
      const remote = await runOnTerminal(['restore', '--prefer', 'remote'], {cwd: dir, columns: 160, stdoutFile: path.join(dir, 'remote.txt')})
      assert.equal(remote.code, 0, remote.screen)
      assert.ok(
        progressLines(replay(remote.screen, 160).lines).some((m) => m[2] === 'reading' && m[7] === '4'),
        'a remote restore reads from the primary',
      )
    } finally {
      await cleanup()
    }
  })
})

describe('progress of a take to a slow remote primary', () => {
  before(() => azureKind.setup())
  after(() => azureKind.teardown())

  it('says "uploading", writes JSON lines under --progress json (stdout stays one document), and a status line every 10 s in a log unless --quiet', async () => {
    const {dir, cleanup} = await tempDir()
    const proxy = await FaultProxy.start(azureKind.server().port)
    try {
      const target = await azureKind.fresh(dir)
      await jobWithState(dir, target.url, 9, {transfer: {blockSize: '1MiB', concurrency: 1}})
      const env = {AZURE_STORAGE_CONNECTION_STRING: proxy.via(target.env.AZURE_STORAGE_CONNECTION_STRING)}
      // Every block waits 1.5 s: 9 blocks of 1 MiB per task, one at a time: a take of over 13 s.
      proxy.add({method: 'PUT', url: /comp=block&/, times: Infinity, fault: {stall: true, ms: 1500}})
      const [json, plain, quiet] = await Promise.all([
        runCli(['checkpoint', 'take', '--json', '--progress', 'json'], {cwd: dir, env}),
        runCli(['checkpoint', 'take'], {cwd: dir, env}),
        runCli(['checkpoint', 'take', '--quiet'], {cwd: dir, env}),
      ])
      assert.equal(json.code, 0, json.stderr)
      assert.equal(json.json.status, 'completed', 'stdout is one JSON document')
      const events = json.stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l))
      const alpha = events.filter((e) => e.taskId === 'alpha')
      assert.ok(alpha.length >= 3, json.stderr)
      assert.ok(alpha.every((e) => e.type === 'progress' && e.phase === 'uploading' && e.bytesTotal === alpha[0].bytesTotal && e.filesTotal === 4))
      for (let i = 1; i < alpha.length; i++) assert.ok(alpha[i].bytesDone >= alpha[i - 1].bytesDone, 'bytes done never go back')
      assert.deepEqual([alpha.at(-1).finished, alpha.at(-1).percent, alpha.at(-1).filesDone], [true, 100, 4])
      assert.ok(
        alpha.some((e) => e.bytesPerSecond > 0 && e.etaMs !== undefined),
        'a rate and an ETA while it runs',
      )

      assert.equal(plain.code, 0, plain.stderr)
      const status = plain.stderr.split('\n').filter((l) => l.startsWith('ckpt: '))
      assert.ok(status.length >= 1, `a status line within the take of over 10 s:\n${plain.stderr}`)
      assert.match(status[0], /^ckpt: uploading \d+%, \S+ \S+ of \S+ \S+, \d+ of \d+ files \(2 tasks\), \S+ \S+\/s, \d+:\d\d elapsed, ETA/)
      assert.doesNotMatch(plain.stderr, /\u001B\[/, 'no terminal codes in a log')
      assert.equal(quiet.code, 0, quiet.stderr)
      assert.doesNotMatch(quiet.stderr, /ckpt: /)
    } finally {
      await proxy.close()
      await cleanup()
    }
  })
})
