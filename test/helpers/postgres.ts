// The PostgreSQL example (examples/postgres) in a temp folder: its cluster made by its setup.sh,
// its tools run as the user postgres, psql over its socket. The tests install nothing: .ci/run does.
import assert from 'node:assert/strict'
import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import {cpSync, existsSync, readdirSync, readFileSync} from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {collectCli, repoRoot, type CliResult} from './cli.js'
import {tempDir} from './primaries.js'

/** Debian puts the server under /usr/lib/postgresql/VERSION/bin, outside PATH; the example takes the newest, so do we. */
export function postgresBin(): string {
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb'))) : []
  const newest = versions.sort((a, b) => Number(a) - Number(b)).at(-1)
  if (!newest) assert.fail('PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): install it with `apt-get install -y postgresql`, as .ci/run does')
  return path.join(root, newest, 'bin')
}

export interface PostgresExample {
  dir: string
  stateDir: string
  /** Runs a PostgreSQL tool as the user postgres. */
  tool(name: string, args: string[]): Promise<CliResult>
  /** Starts one as the user postgres with its stdio piped. */
  start(name: string, args: string[]): ChildProcess
  /** psql -c over the example's socket: unaligned, tuples only. */
  query(sql: string): Promise<CliResult>
  /** Waits until PostgreSQL answers; fails with what `notes()` holds when it does not, or when `run` ends. */
  waitAnswers(what: string, run: ChildProcess, notes: () => string): Promise<void>
  /** SIGQUITs a postmaster that a failed test left behind (its pid file says which). */
  stopLeftover(): void
  cleanup(): Promise<void>
}

/** A copy of examples/postgres with its cluster made (setup.sh with quick initdb options). */
export async function postgresExample(): Promise<PostgresExample> {
  const bin = postgresBin()
  const ids = {uid: idOf('-u'), gid: idOf('-g')}
  const {dir, cleanup} = await tempDir('ckpt-postgres-')
  await fs.chmod(dir, 0o755) // the user postgres must reach its data folder
  cpSync(path.join(repoRoot, 'examples', 'postgres'), dir, {recursive: true})
  const stateDir = path.join(dir, 'data')
  const socket = path.join(dir, 'socket')
  const start = (name: string, args: string[]) => spawn(path.join(bin, name), args, {cwd: dir, ...ids, stdio: 'pipe', env: {PATH: process.env.PATH, LC_ALL: 'C'}})
  const tool = (name: string, args: string[]) => collectCli(start(name, args), 60_000)
  const setup = await collectCli(spawn(path.join(dir, 'setup.sh'), ['--no-sync', '--wal-segsize=1'], {stdio: 'pipe'}), 60_000)
  assert.equal(setup.code, 0, `examples/postgres/setup.sh: ${setup.stdout}${setup.stderr}`)
  const query = (sql: string) => tool('psql', ['-h', socket, '-p', '5433', '-d', 'postgres', '-X', '-A', '-t', '-c', sql])
  return {
    dir,
    stateDir,
    tool,
    start,
    query,
    async waitAnswers(what, run, notes) {
      const deadline = Date.now() + 30_000
      while ((await query('SELECT 1')).code !== 0) {
        if (Date.now() > deadline || run.exitCode !== null) assert.fail(`PostgreSQL did not answer ${what}; ckpt run said:\n${notes()}`)
        await sleep(100)
      }
    },
    stopLeftover() {
      const pidFile = path.join(stateDir, 'postmaster.pid')
      if (!existsSync(pidFile)) return
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0])
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres')) process.kill(pid, 'SIGQUIT')
      } catch {
        // gone
      }
    },
    cleanup,
  }
}

function idOf(flag: string): number {
  return Number(execFileSync('id', [flag, 'postgres'], {encoding: 'utf8'}).trim())
}
