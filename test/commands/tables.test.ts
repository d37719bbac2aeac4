// Tables and times for people (issue 15, item 4): tables fit an 80-column terminal and wrap a long
// `why` at words, never mid-path; local time and age on a terminal, ISO under --json; counts in words.
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {age, fitColumns} from '../../src/cli/render.js'
import {runCli} from '../helpers/cli.js'
import {writeJob, FORMAT_1} from '../helpers/job.js'
import {tempDir} from '../helpers/primaries.js'
import {onTerminal, screenLines} from '../helpers/terminal.js'

describe('tables and times', () => {
  it('fit an 80-column terminal: a long why wraps at words and its path stays whole', async () => {
    // A short temporary folder, so the path fits the why column and must wrap around it.
    const {dir, cleanup} = await tempDir('c-')
    try {
      const root = path.join(dir, 'node-local-copies')
      await writeJob(dir, {tasks: [{id: 'alpha'}], localRoots: [root], extra: FORMAT_1})
      await fs.writeFile(path.join(dir, 'state', 'alpha', 'f'), 'x')
      assert.equal((await runCli(['checkpoint', 'take'], {cwd: dir})).code, 0)
      const shown = await onTerminal(['restore', '--plan'], {cwd: dir, columns: 80})
      const lines = screenLines(shown.stdout)
      assert.equal(shown.code, 0, lines.join('\n'))
      for (const line of lines) assert.ok(line.length <= 80, `${line.length} columns: ${line}`)
      assert.ok(
        lines.some((line) => line.includes(root)),
        `the path ${root} on one line:\n${lines.join('\n')}`,
      )
      assert.ok(
        // in place, local, remote
        lines.some((line) => /^alpha\s+chk-1\s+local\s+0 B\s+1 B\s+0 B\s+secondary copy in$/.test(line)),
        lines.join('\n'),
      )
      assert.ok(
        lines.some((line) => /^\s+verified \(1 file\)$/.test(line)),
        lines.join('\n'),
      )
      // Piped, the same table is not cut.
      const piped = await runCli(['restore', '--plan'], {cwd: dir})
      assert.match(piped.stdout, new RegExp(`secondary copy in ${root} verified \\(1 file\\)`))
    } finally {
      await cleanup()
    }
  })

  it('show local time and age on a terminal, ISO under --json, and counts in words', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      await writeJob(dir, {tasks: [{id: 'alpha'}]})
      await fs.writeFile(path.join(dir, 'state', 'alpha', 'f'), 'x')
      assert.equal((await runCli(['checkpoint', 'take'], {cwd: dir})).code, 0)
      const json = await runCli(['checkpoint', 'list', '--json'], {cwd: dir})
      assert.match(json.json.checkpoints[0].createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
      const list = screenLines((await onTerminal(['checkpoint', 'list'], {cwd: dir, env: {TZ: 'Asia/Kolkata'}})).stdout)
      const local = new Date(json.json.checkpoints[0].createdAt).getTime() + 5.5 * 3600_000
      const expected = new Date(local).toISOString().slice(0, 16).replace('T', ' ')
      assert.ok(
        list.some((line) => line.includes(`${expected}:`) && /\(\d+ s ago\)/.test(line)),
        `local time ${expected} and age in:\n${list.join('\n')}`,
      )
      const show = screenLines((await onTerminal(['checkpoint', 'show'], {cwd: dir})).stdout).join('\n')
      assert.match(show, /Task alpha: 1 file, 1 B/)
      const verify = screenLines((await onTerminal(['checkpoint', 'verify'], {cwd: dir})).stdout).join('\n')
      assert.match(verify, /^checkpoint\s+status\s+result/m)
      assert.match(verify, /^chk-1\s+completed\s+ok/m)
      assert.match(verify, /No problems in 1 checkpoint\./)
    } finally {
      await cleanup()
    }
  })

  it('shrink the widest columns first, never below their longest word', () => {
    const cells = [
      ['task', 'why'],
      ['a', 'secondary copy in /a/very/long/path/that/must/not/break verified (2 files)'],
    ]
    assert.deepEqual(fitColumns(cells, 50), [4, 50 - 2 - 4])
    assert.deepEqual(fitColumns(cells, 30), [4, '/a/very/long/path/that/must/not/break'.length], 'a word is never cut: the table overflows instead')
    assert.deepEqual(fitColumns(cells, undefined), [4, cells[1][1].length])
    assert.equal(age(new Date(Date.now() - 12 * 60_000).toISOString()), '12 min ago')
    assert.equal(age(new Date(Date.now() - 3 * 86_400_000).toISOString()), '3 days ago')
  })
})
