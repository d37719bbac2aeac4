// The command surface: init, job file errors, --json discipline, colour, help, the oclif manifest.
import assert from 'node:assert/strict'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {spawn} from 'node:child_process'
import {binRun, cliEnv, collectCli, repoRoot, runCli} from '../helpers/cli.js'
import {writeJob, FORMAT_1} from '../helpers/job.js'
import {tempDir} from '../helpers/primaries.js'

async function commandFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = []
  for (const entry of await fs.readdir(dir, {withFileTypes: true})) {
    if (entry.isDirectory()) out.push(...(await commandFiles(path.join(dir, entry.name), `${prefix}${entry.name}:`)))
    // oclif's convention: FOLDER/index.ts is the command FOLDER itself.
    else if (entry.name === 'index.ts' && prefix !== '') out.push(prefix.slice(0, -1))
    else if (entry.name.endsWith('.ts')) out.push(`${prefix}${entry.name.slice(0, -3)}`)
  }
  return out.sort()
}

describe('command surface', () => {
  it('has every command of src/commands in oclif.manifest.json', async () => {
    const manifest = JSON.parse(await fs.readFile(path.join(repoRoot, 'oclif.manifest.json'), 'utf8'))
    assert.deepEqual(Object.keys(manifest.commands).sort(), await commandFiles(path.join(repoRoot, 'src', 'commands')))
    for (const id of ['init', 'restore', 'checkpoint:take', 'checkpoint:list', 'checkpoint:show', 'local:list']) assert.ok(manifest.commands[id], id)
  })

  it('init writes a working starter job file and refuses to overwrite it without --force', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const first = await runCli(['init', '--json'], {cwd: dir})
      assert.equal(first.code, 0, first.stderr)
      assert.equal(first.json.jobFile, path.join(dir, 'ckpt.json'))
      const again = await runCli(['init'], {cwd: dir})
      assert.equal(again.code, 2)
      assert.match(again.stderr, /already exists; use --force/)
      assert.equal((await runCli(['init', '--force'], {cwd: dir})).code, 0)
      const take = await runCli(['checkpoint', 'take', '--json'], {cwd: dir})
      assert.equal(take.code, 0, take.stderr)
      assert.equal(take.json.status, 'completed')
    } finally {
      await cleanup()
    }
  })

  it('rejects malformed job files with exit 2, naming the field', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const cases: Array<[string, RegExp]> = [
        ['{"job": "x", "tasks": [', /not valid JSON/],
        ['{"job": "x", "tasks": [{"id": "a", "stateDir": "s", "comand": "typo"}]}', /tasks\[0\]\.comand: unknown field/],
        ['{"job": "x", "tasks": [{"id": "a", "stateDir": "s"}, {"id": "a", "stateDir": "t"}]}', /tasks\[1\]\.id: "a" is already the id of tasks\[0\]/],
        ['{"job": "x", "tasks": [{"id": "../a", "stateDir": "s"}]}', /tasks\[0\]\.id: "\.\.\/a" may only contain/],
        ['{"job": "x", "tasks": [{"id": "a"}]}', /tasks\[0\]\.stateDir: required/],
      ]
      for (const [text, message] of cases) {
        await fs.writeFile(path.join(dir, 'ckpt.json'), text)
        for (const args of [
          ['checkpoint', 'take'],
          ['restore', '--plan'],
        ]) {
          const human = await runCli(args, {cwd: dir})
          assert.equal(human.code, 2, `${text}: ${human.stderr}`)
          assert.match(human.stderr, message)
          assert.doesNotMatch(human.stderr, /\n\s+at /, 'no stack trace')
          assert.equal(human.stdout, '')
          const json = await runCli([...args, '--json'], {cwd: dir})
          assert.equal(json.code, 2)
          assert.equal(json.json.error.exit, 2)
          assert.match(json.json.error.message, message)
        }
      }
      const missing = await runCli(['checkpoint', 'list', '--job-file', 'nope.json'], {cwd: dir})
      assert.equal(missing.code, 2)
      assert.match(missing.stderr, /nope\.json not found; write one with 'ckpt init'/)
      const badFlag = await runCli(['restore', '--prefer', 'sideways'], {cwd: dir})
      assert.equal(badFlag.code, 2)
    } finally {
      await cleanup()
    }
  })

  it('prints one JSON document on stdout, tables without colour when piped, a stack only with DEBUG', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      await writeJob(dir, {tasks: [{id: 'a'}], localRoots: ['blocker/x']})
      await fs.writeFile(path.join(dir, 'blocker'), '')
      await fs.writeFile(path.join(dir, 'state', 'a', 'f'), 'x')
      const take = await runCli(['checkpoint', 'take', '--json'], {cwd: dir})
      assert.equal(take.code, 0)
      assert.ok(take.json, 'stdout is exactly one JSON document even with a warning')
      assert.match(take.stderr, /Warning:/)
      const table = await runCli(['checkpoint', 'list'], {cwd: dir, env: {NO_COLOR: undefined}})
      assert.match(table.stdout, /chk-1\s+completed/)
      assert.doesNotMatch(table.stdout + table.stderr, /\u001B\[/, 'no colour codes when piped')
      const debug = await runCli(['checkpoint', 'show', 'chk-7'], {cwd: dir, env: {DEBUG: 'ckpt*'}})
      assert.equal(debug.code, 2)
      assert.match(debug.stderr, /\n\s+at /)
    } finally {
      await cleanup()
    }
  })

  it('shows progress (bytes and rate) on a terminal only', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      await writeJob(dir, {tasks: [{id: 'a'}], extra: FORMAT_1})
      await fs.writeFile(path.join(dir, 'state', 'a', 'big'), Buffer.alloc(20 << 20, 7))
      const piped = await runCli(['checkpoint', 'take'], {cwd: dir})
      assert.equal(piped.code, 0)
      assert.doesNotMatch(piped.stderr, /upload:/)
      assert.doesNotMatch(piped.stderr, /writing|\u001B\[/, 'no live progress line without a terminal')
      // script(1) gives the command a pseudo-terminal, as a person at a terminal has.
      const quoted = [process.execPath, binRun, 'restore', '--prefer', 'remote'].map((a) => `'${a}'`).join(' ')
      const tty = await collectCli(spawn('script', ['-qec', quoted, '/dev/null'], {cwd: dir, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe']}))
      assert.equal(tty.code, 0, tty.stdout + tty.stderr)
      // Issue 15 item 1: the line names the task and its phase, and has files, elapsed time and an ETA too.
      assert.match(tty.stdout, /a\s+reading\s+\d+%\s+[\d.]+ (B|KiB|MiB)\/20\.0 MiB\s+\d\/1 files\s+[\d.]+ (B|KiB|MiB|GiB)\/s\s+\d+:\d\d/)
      assert.match(tty.stdout, /Restored checkpoint chk-1/)
    } finally {
      await cleanup()
    }
  })

  it('colours tables on a terminal, and never with NO_COLOR', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      await writeJob(dir, {tasks: [{id: 'a'}]})
      assert.equal((await runCli(['checkpoint', 'take'], {cwd: dir})).code, 0)
      const quoted = [process.execPath, binRun, 'checkpoint', 'list'].map((a) => `'${a}'`).join(' ')
      const onTty = (env: Record<string, string | undefined>) => collectCli(spawn('script', ['-qec', quoted, '/dev/null'], {cwd: dir, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe']}))
      // CI=true (as CI runs the suite) turns colour off too: this run is a person's terminal.
      const coloured = await onTty({NO_COLOR: undefined, CI: undefined})
      assert.match(coloured.stdout, /\u001B\[32mcompleted/)
      const plain = await onTty({NO_COLOR: '1'})
      assert.match(plain.stdout, /chk-1\s+completed/)
      assert.doesNotMatch(plain.stdout, /\u001B\[\d+m/)
    } finally {
      await cleanup()
    }
  })

  it('prints its version, with or without oclif', async () => {
    const {version} = JSON.parse(await fs.readFile(path.join(repoRoot, 'package.json'), 'utf8'))
    for (const flag of ['--version', '-v']) {
      const result = await runCli([flag])
      assert.equal(result.code, 0)
      assert.equal(result.stdout, `ckpt/${version} ${process.platform}-${process.arch} node-${process.version}\n`)
    }
  })

  it("lists the exit codes in each command's help", async () => {
    const help = await runCli(['restore', '--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /EXIT STATUS[\s\S]*4\s+nothing could be restored/)
  })
})
