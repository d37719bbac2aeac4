// Runs the built CLI (bin/run.js) as a real child process.
import {spawn, type ChildProcess} from 'node:child_process'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const binRun = path.join(repoRoot, 'bin', 'run.js')

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** stdout parsed as JSON, when it is JSON. */
  json: any
}

export interface CliOptions {
  cwd?: string
  env?: Record<string, string | undefined>
  timeoutMs?: number
}

/** The environment for a ckpt child: no colour, no inherited CKPT_* or Azure settings. */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CKPT_') && !k.startsWith('AZURE_') && k !== 'FORCE_COLOR') env[k] = v
  env.NO_COLOR = '1'
  env.CKPT_NODE = 'test-node'
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  return env
}

export function startCli(args: string[], options: CliOptions = {}): ChildProcess {
  return spawn(process.execPath, [binRun, ...args], {cwd: options.cwd, env: cliEnv(options.env), stdio: ['ignore', 'pipe', 'pipe']})
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const child = startCli(args, options)
  return collectCli(child, options.timeoutMs ?? 120_000)
}

export function collectCli(child: ChildProcess, timeoutMs = 120_000): Promise<CliResult> {
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      let json: any
      try {
        json = JSON.parse(stdout)
      } catch {
        json = undefined
      }
      resolve({code, signal, stdout, stderr, json})
    })
  })
}

/**
 * Polls `probe` until it holds while `child` still runs: the moment a fault test strikes. Fails when
 * the child ends first or the wait is over, so a test never strikes too early or too late unnoticed.
 */
export async function whileRunning(child: ChildProcess, what: string, probe: () => Promise<boolean>, options: {timeoutMs?: number; everyMs?: number} = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000)
  for (;;) {
    if (await probe()) return
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the command ended (${child.exitCode ?? child.signalCode}) before ${what}`)
    if (Date.now() > deadline) throw new Error(`timed out after ${options.timeoutMs ?? 60_000} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 25))
  }
}
