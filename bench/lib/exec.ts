// Runs one command and measures it: wall time, and the peak RSS of the process (getrusage via
// /usr/bin/time when it is there, else VmHWM polled from /proc).
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import * as fs from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'

const TIME_BIN = '/usr/bin/time'

export interface RunResult {
  ms: number
  /** Peak resident set of the process, in KiB. */
  maxRssKiB?: number
  /** CPU time of the process and its children (user + system), ms; with /usr/bin/time only. */
  cpuMs?: number
  code: number | null
  stdout: string
  stderr: string
}

export interface RunOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  timeoutMs?: number
  /** Measure peak RSS (default true). */
  rss?: boolean
  /** Non-zero exit is returned, not thrown. */
  allowFailure?: boolean
}

export class CommandError extends Error {}

export async function runCommand(argv: string[], options: RunOptions = {}): Promise<RunResult> {
  const measureRss = options.rss !== false
  const useTime = measureRss && existsSync(TIME_BIN)
  const rssFile = useTime ? path.join(os.tmpdir(), `ckpt-bench-rss-${process.pid}-${Math.random().toString(36).slice(2)}`) : undefined
  const full = useTime ? [TIME_BIN, '-f', '%M %U %S', '-o', rssFile!, ...argv] : argv
  const started = process.hrtime.bigint()
  const child = spawn(full[0], full.slice(1), {cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-64_000)))
  let polledKiB = 0
  const poller =
    measureRss && !useTime && child.pid
      ? setInterval(() => {
          fs.readFile(`/proc/${child.pid}/status`, 'utf8').then(
            (text) => {
              const m = /VmHWM:\s+(\d+) kB/.exec(text)
              if (m) polledKiB = Math.max(polledKiB, Number(m[1]))
            },
            () => {},
          )
        }, 10)
      : undefined
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30 * 60_000)
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (c) => resolve(c))
  }).finally(() => {
    clearTimeout(timer)
    if (poller) clearInterval(poller)
  })
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  let maxRssKiB: number | undefined = polledKiB || undefined
  let cpuMs: number | undefined
  if (rssFile) {
    const text = await fs.readFile(rssFile, 'utf8').catch(() => '')
    await fs.rm(rssFile, {force: true})
    const lines = text.trim().split('\n')
    const [rss, user, sys] = lines[lines.length - 1].split(' ').map(Number)
    if (Number.isFinite(rss) && rss > 0) maxRssKiB = rss
    if (Number.isFinite(user) && Number.isFinite(sys)) cpuMs = Math.round((user + sys) * 1000)
  }
  if (code !== 0 && !options.allowFailure) {
    const said = (stderr.trim() || stdout.trim()).split('\n').slice(-8).join(' | ')
    throw new CommandError(`${argv.join(' ')} exited ${code}: ${said}`)
  }
  return {ms, maxRssKiB, cpuMs, code, stdout, stderr}
}

/** Output of a quick command, or undefined when it fails or is missing. */
export async function capture(argv: string[], options: RunOptions = {}): Promise<string | undefined> {
  try {
    const r = await runCommand(argv, {...options, rss: false, allowFailure: true, timeoutMs: options.timeoutMs ?? 120_000})
    return r.code === 0 ? r.stdout.trim() : undefined
  } catch {
    return undefined
  }
}

/** Flushes dirty pages so one run's write-back does not land in the next run's time. */
export async function syncDisks(): Promise<void> {
  await runCommand(['sync'], {rss: false, allowFailure: true})
}
