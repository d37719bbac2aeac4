// Help as people use it (issue 15, item 2): -h everywhere, did you mean, each command's exit codes,
// environment, flags and examples from one table, the root help, --version --json, completion, docs/COMMANDS.md.
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {promisify} from 'node:util'
import {COMMAND_HELP, ENV_MEANINGS, EXIT_MEANINGS} from '../../src/cli/help.js'
import {repoRoot, runCli, startCli, collectCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/primaries.js'
import {onTerminal, screenLines} from '../helpers/terminal.js'

const ids = Object.keys(COMMAND_HELP).sort()
const words = (id: string) => id.split(':')

/** The lines of one section (HEADER to the next blank line followed by a header). */
function section(help: string, header: string): string[] {
  const at = help.split('\n').indexOf(header)
  assert.ok(at >= 0, `no ${header} section in:\n${help}`)
  const lines = help.split('\n').slice(at + 1)
  const end = lines.findIndex((line) => /^[A-Z]/.test(line))
  return (end < 0 ? lines : lines.slice(0, end)).filter((line) => line.trim() !== '')
}

/** Job flags each environment variable stands for: offered together or not at all. */
const FLAG_OF_ENV: Record<string, string> = {CKPT_JOB_FILE: '--job-file', CKPT_PRIMARY: '--primary', CKPT_LOCAL_ROOTS: '--local-root', CKPT_NODE: '--node'}

describe('help', () => {
  for (const id of ids) {
    it(`ckpt ${words(id).join(' ')} -h lists the exit codes, environment and flags of its row in the table`, async () => {
      const help = await runCli([...words(id), '-h'])
      assert.equal(help.code, 0, help.stderr)
      const exits = section(help.stdout, 'EXIT STATUS').filter((line) => /^ {2}\d/.test(line))
      assert.deepEqual(exits.map((line) => line.trim().split(/\s+/)[0]).map(Number), COMMAND_HELP[id].exits)
      for (const [i, code] of COMMAND_HELP[id].exits.entries()) assert.match(exits[i], new RegExp(`^\\s+${code}\\s+${EXIT_MEANINGS[code].slice(0, 20).replace(/[()]/g, '\\$&')}`))
      const env = section(help.stdout, 'ENVIRONMENT').filter((line) => /^\s+[A-Z_]{4,}\s/.test(line))
      assert.deepEqual(
        env.map((line) => line.trim().split(/\s+/)[0]),
        COMMAND_HELP[id].env,
      )
      for (const name of COMMAND_HELP[id].env) assert.ok(name in ENV_MEANINGS)
      const usage = section(help.stdout, 'USAGE').join(' ')
      for (const [name, flag] of Object.entries(FLAG_OF_ENV))
        assert.equal(
          usage.includes(`${flag} `) || usage.includes(`${flag}]`) || (flag === '--job-file' && usage.includes('-j <')),
          COMMAND_HELP[id].env.includes(name as keyof typeof ENV_MEANINGS),
          `${id}: ${flag} offered iff ${name} listed`,
        )
      for (const flag of ['-q', '--verbose', '--json']) assert.ok(usage.includes(flag), `${id} offers ${flag}`)
    })
  }

  it('offers transfer flags only where data moves, and refuses them elsewhere with exit 2', async () => {
    // init takes --block-size too, to write it into the job file (test/commands/init.test.ts).
    for (const id of ['checkpoint:list', 'checkpoint:show', 'checkpoint:prune', 'local:list', 'local:prune', 'unlock']) {
      const result = await runCli([...words(id), '--block-size', '8MiB'])
      assert.equal(result.code, 2, `${id}: ${result.stderr}`)
      assert.match(result.stderr, /^Error: Nonexistent flag: --block-size/m)
    }
    const help = await runCli(['restore', '-h'])
    assert.match(help.stdout, /--block-size=<size>/)
  })

  it('runs every example as written', {timeout: 240_000}, async () => {
    const {dir, cleanup} = await tempDir()
    try {
      // Every command's examples, read from its help all at once.
      const helps = new Map(await Promise.all(ids.map(async (id) => [id, (await runCli([...words(id), '-h'])).stdout] as const)))
      const examples = async (id: string) =>
        section(helps.get(id)!, 'EXAMPLES').map((line) =>
          line
            .trim()
            .replace(/^\$ ckpt /, '')
            .split(' '),
        )
      // init in a fresh folder each time; the rest in one job, after a first take.
      for (const args of await examples('init')) {
        const fresh = path.join(dir, `init-${args.length}`)
        await fs.mkdir(fresh)
        const result = await runCli(args, {cwd: fresh})
        assert.equal(result.code, 0, `ckpt ${args.join(' ')}: ${result.stderr}`)
      }
      const job = path.join(dir, 'job')
      await fs.mkdir(job)
      assert.equal((await runCli(['init'], {cwd: job})).code, 0)
      const order = ['checkpoint:take', ...ids.filter((id) => id !== 'init' && id !== 'checkpoint:take' && id !== 'autocomplete:fish')]
      for (const id of order) {
        for (const args of await examples(id)) {
          if (id === 'run' && !args.includes('--duration')) {
            // A run without --duration runs until it is stopped: SIGTERM ends it with 130, once it
            // has said something (its handlers are in place by then).
            const child = startCli(args, {cwd: job})
            const collected = collectCli(child)
            await new Promise<void>((resolve) => {
              const stop = () => resolve(void child.kill('SIGTERM'))
              const timer = setTimeout(stop, 10_000)
              child.stderr!.once('data', () => (clearTimeout(timer), setTimeout(stop, 200)))
            })
            const result = await collected
            assert.equal(result.code, 130, `ckpt ${args.join(' ')}: ${result.stderr}`)
            continue
          }
          const result = await runCli(args, {cwd: job})
          assert.equal(result.code, 0, `ckpt ${args.join(' ')}: ${result.stderr}`)
          if (args.includes('--json')) assert.ok(result.json, `ckpt ${args.join(' ')} prints one JSON document`)
        }
      }
      const fish = await examples('autocomplete:fish')
      assert.equal((await runCli(fish[0], {cwd: job})).code, 0)
    } finally {
      await cleanup()
    }
  })

  it('says where to start in the root help, and -h works at every level on a terminal', async () => {
    for (const args of [['-h'], ['--help'], ['checkpoint', '-h'], ['local', '-h'], ['checkpoint', 'list', '-h'], ['restore', '-h'], ['help', 'checkpoint', 'verify']]) {
      const result = await onTerminal(args)
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stdout}`)
      assert.match(result.stdout, /USAGE/, args.join(' '))
      assert.doesNotMatch(result.stdout, /Nonexistent flag|not found/, args.join(' '))
      if (args[0] === '-h') assert.match(screenLines(result.stdout).join(' '), /Start here: 'ckpt init' writes a starter job file/)
    }
  })

  it('suggests the nearest command in the space-separated form, on a terminal and in a script, with exit 2', async () => {
    const piped = await runCli(['checkpoint', 'lst'])
    assert.equal(piped.code, 2)
    assert.equal(piped.stdout, '')
    assert.equal(piped.stderr, "Warning: checkpoint lst is not a ckpt command.\nError: Did you mean 'checkpoint list'? Run 'ckpt help checkpoint' for a list of available commands.\n")
    // On a terminal the plugin asks; answering no ends with the same error style.
    const asked = await onTerminal(['checkpoint', 'lst'], {input: {when: /Did you mean checkpoint list\?/, text: 'n\r'}})
    const screen = screenLines(asked.stdout).join('\n')
    assert.equal(asked.code, 2, screen)
    assert.match(screen, /^Warning: checkpoint lst is not a ckpt command\.$/m)
    assert.match(screen, /Did you mean checkpoint list\?/)
    assert.match(screen, /^Error: Run 'ckpt help checkpoint' for a list of available commands\.$/m)
    assert.doesNotMatch(piped.stderr + screen, /checkpoint:list|›/)
    // And answering yes runs it.
    const yes = await onTerminal(['restor', '--plan', '-j', '/nonexistent/ckpt.json'], {input: {when: /Did you mean restore\?/, text: 'y\r'}})
    assert.match(screenLines(yes.stdout).join('\n'), /Error: job file \/nonexistent\/ckpt\.json not found/)
    assert.equal(yes.code, 2)
  })

  it('prints --version --json as one JSON document', async () => {
    const {version} = JSON.parse(await fs.readFile(path.join(repoRoot, 'package.json'), 'utf8'))
    for (const args of [
      ['--version', '--json'],
      ['-v', '--json'],
    ]) {
      const result = await runCli(args)
      assert.equal(result.code, 0)
      assert.deepEqual(result.json, {name: 'ckpt', version, platform: `${process.platform}-${process.arch}`, node: process.version})
    }
  })

  it('completes commands and flags in bash, zsh and fish', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const env = {HOME: dir, XDG_CACHE_HOME: path.join(dir, 'cache')}
      for (const shell of ['bash', 'zsh']) {
        const result = await runCli(['autocomplete', shell], {env})
        assert.equal(result.code, 0, result.stderr)
        assert.match((await runCli(['autocomplete', 'script', shell], {env})).stdout, new RegExp(`CKPT_AC_${shell.toUpperCase()}_SETUP_PATH`))
      }
      const bash = await fs.readFile(path.join(dir, 'cache', 'ckpt', 'autocomplete', 'functions', 'bash', 'ckpt.bash'), 'utf8')
      assert.match(bash, /checkpoint:list/)
      assert.match(bash, /--read-data-subset/)
      const zsh = await fs.readFile(path.join(dir, 'cache', 'ckpt', 'autocomplete', 'functions', 'zsh', '_ckpt'), 'utf8')
      assert.match(zsh, /--no-fallback/)
      const fish = await runCli(['autocomplete', 'fish'])
      assert.equal(fish.code, 0, fish.stderr)
      assert.match(fish.stdout, /^complete -c ckpt -n __fish_use_subcommand -a 'checkpoint' /m)
      assert.match(fish.stdout, /^complete -c ckpt -n '__fish_seen_subcommand_from checkpoint; and not __fish_seen_subcommand_from list' -a 'list' /m)
      assert.match(fish.stdout, /^complete -c ckpt -n '__fish_seen_subcommand_from restore' -l prefer -x -a 'local remote' /m)
      // bash reads its script without complaint.
      await promisify(execFile)('bash', ['-n', path.join(dir, 'cache', 'ckpt', 'autocomplete', 'functions', 'bash', 'ckpt.bash')])
    } finally {
      await cleanup()
    }
  })

  it('keeps docs/COMMANDS.md what the commands say (npm run docs:commands)', async () => {
    const check = await promisify(execFile)(process.execPath, [path.join(repoRoot, 'scripts', 'commands-doc.mjs'), '--check']).then(
      () => 0,
      (error: {code: number; stderr: string}) => (assert.match(error.stderr, /out of date/), error.code),
    )
    assert.equal(check, 0, "docs/COMMANDS.md is out of date: run 'npm run build && npm run docs:commands'")
    const doc = await fs.readFile(path.join(repoRoot, 'docs', 'COMMANDS.md'), 'utf8')
    for (const id of ids) assert.match(doc, new RegExp(`^## ckpt ${words(id).join(' ')}$`, 'm'))
  })
})
