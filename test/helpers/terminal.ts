// Runs the built CLI on a real pseudo-terminal: script(1) from util-linux, with the terminal's
// width set by stty, as a person at a terminal of that size runs it.
import {spawn} from 'node:child_process'
import {binRun, cliEnv, collectCli, type CliResult} from './cli.js'

export interface TerminalOptions {
  cwd?: string
  columns?: number
  env?: Record<string, string | undefined>
  /** Typed into the terminal once the screen shows `when` (e.g. an answer to a prompt). */
  input?: {when: RegExp; text: string}
  timeoutMs?: number
}

const quote = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`

/** stdout holds everything the terminal showed (stdout and stderr alike, as on a screen), with \r\n line ends. */
export function onTerminal(args: string[], options: TerminalOptions = {}): Promise<CliResult> {
  const command = `stty cols ${options.columns ?? 80} rows 50; exec ${[process.execPath, binRun, ...args].map(quote).join(' ')}`
  // A terminal that takes colour: TERM set, and no CI variable that would make chalk hold back.
  const env = cliEnv({TERM: 'xterm', CI: undefined, ...options.env})
  const child = spawn('script', ['-qfec', command, '/dev/null'], {cwd: options.cwd, env, stdio: ['pipe', 'pipe', 'pipe']})
  const input = options.input
  if (input) {
    let screen = ''
    const watch = (chunk: Buffer) => {
      screen += chunk.toString('utf8')
      if (!input.when.test(screen.replace(/\u001B\[[0-9;?]*[A-Za-z]/g, ''))) return
      child.stdout!.off('data', watch)
      child.stdin!.write(input.text)
    }
    child.stdout!.on('data', watch)
  }
  return collectCli(child, options.timeoutMs ?? 60_000)
}

/** The screen's lines without colour codes and cursor movements. */
export function screenLines(text: string): string[] {
  return text
    .replace(/\u001B\[[0-9;?]*[A-Za-z]/g, '')
    .split(/\r?\n/)
    .map((line) => line.replace(/\r/g, ''))
}
