// Runs the built CLI on a real pseudo-terminal (util-linux `script`) of a given width, and reads
// what it drew the way a terminal would: where the cursor went, and whether a line wrapped.
import {spawn} from 'node:child_process'
import {binRun, cliEnv} from './cli.js'

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`

/** Runs `ckpt ARGS` with stderr on a terminal of `columns`; stdout goes to `stdoutFile`. Resolves with what the terminal got. */
export function runOnTerminal(args: string[], options: {cwd: string; columns: number; stdoutFile: string; env?: Record<string, string>}): Promise<{code: number | null; screen: string}> {
  const command = `stty cols ${options.columns} rows 24; exec ${quote(process.execPath)} ${quote(binRun)} ${args.map(quote).join(' ')} > ${quote(options.stdoutFile)}`
  const child = spawn('script', ['-qfec', command, '/dev/null'], {cwd: options.cwd, env: cliEnv({TERM: 'xterm-256color', NO_COLOR: undefined, ...options.env}), stdio: ['ignore', 'pipe', 'pipe']})
  let screen = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (screen += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (screen += d))
  return new Promise((resolve) => child.on('close', (code) => resolve({code, screen})))
}

export interface TerminalReplay {
  /** Every line of text drawn, as it stood when the cursor left it (colour codes removed). */
  lines: string[]
  /** The lowest row the cursor reached, counted from the row it started on. */
  maxRow: number
  /** Lines that ran past the last column (the terminal would have wrapped them). */
  wrapped: string[]
}

/** Replays what a terminal of `columns` would do with the output (the subset ckpt writes). */
export function replay(output: string, columns: number): TerminalReplay {
  const lines: string[] = []
  const wrapped: string[] = []
  let row = 0
  let maxRow = 0
  let line = ''
  const leave = () => {
    if (line.trim() !== '') lines.push(line)
    line = ''
  }
  for (let i = 0; i < output.length; i++) {
    const ch = output[i]
    const csi = /^\u001B\[(\d*)([A-Za-z])/.exec(output.slice(i, i + 12))
    if (csi) {
      i += csi[0].length - 1
      if (csi[2] === 'A') {
        leave()
        row -= Number(csi[1] || 1)
      }
      continue
    }
    if (ch === '\r') {
      leave()
      continue
    }
    if (ch === '\n') {
      leave()
      row++
      maxRow = Math.max(maxRow, row)
      continue
    }
    if (line.length === columns) {
      // The terminal wraps: the cursor moves a row down (and this run of text scrolled).
      wrapped.push(line)
      leave()
      row++
      maxRow = Math.max(maxRow, row)
    }
    line += ch
  }
  leave()
  return {lines, maxRow, wrapped}
}
