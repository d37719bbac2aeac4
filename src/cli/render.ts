// Terminal rendering: colour through chalk, tables that fit the terminal, times, counts.
import {createRequire} from 'node:module'
import chalk, {Chalk, chalkStderr, type ChalkInstance} from 'chalk'

// chalk decides from the stream, FORCE_COLOR, TERM=dumb and CI; NO_COLOR (no-color.org) is ours to honour.
if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') chalk.level = chalkStderr.level = 0

// cli-table3 costs ~70 ms to load, so only commands that draw a table load it, when they draw it.
const require = createRequire(import.meta.url)

function chalkFor(stream: NodeJS.WriteStream): ChalkInstance {
  return stream === process.stderr ? chalkStderr : chalk
}

/** Whether text written to stream is coloured. */
export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  return chalkFor(stream).level > 0
}

const STYLES = ['red', 'green', 'yellow', 'cyan', 'dim', 'bold'] as const

const basic = new Chalk({level: 1})

/** paint.red(text) coloured as stdout is; pass useColor(stream) for another stream. */
export const paint = Object.fromEntries(STYLES.map((name) => [name, (text: string, color = useColor()) => (color ? basic[name](text) : text)])) as Record<
  (typeof STYLES)[number],
  (text: string, color?: boolean) => string
>

/** Colour for stderr (progress, labels), with NO_COLOR honoured above. */
export {chalkStderr}

export const errorLabel = (text: string) => chalkStderr.red(text)
export const warningLabel = (text: string) => chalkStderr.yellow(text)
export const noteLabel = (text: string) => chalkStderr.dim(text)

export function statusColor(status: string): string {
  if (status === 'completed' || status === 'confirmed' || status === 'local' || status === 'written' || status === 'ok' || status === 'live') return chalk.green(status)
  if (status === 'incomplete' || status === 'pending' || status === 'mixed' || status === 'unknown' || status === 'open' || status === 'leaving') return chalk.yellow(status)
  if (status === 'orphaned' || status === 'failed' || status === 'broken' || status === 'aborted' || status === 'stale') return chalk.red(status)
  return status
}

/** Colour codes (ESC [ … m), for measuring or removing them. */
export const ANSI = /\u001B\[[0-9;]*m/g
const visible = (text: string) => text.replace(ANSI, '').length
const GAP = 2

/**
 * Column widths that fit `width`: the widest columns shrink first, each to no less than its longest
 * word, so cells wrap at spaces and a path or id is never cut (a table that still cannot fit overflows).
 */
export function fitColumns(cells: string[][], width: number | undefined): number[] {
  const columns = Math.max(0, ...cells.map((row) => row.length))
  const natural = Array.from({length: columns}, (_, c) => Math.max(1, ...cells.flatMap((row) => (row[c] ?? '').split('\n').map(visible))))
  if (!width) return natural
  const floor = Array.from({length: columns}, (_, c) => Math.max(1, ...cells.flatMap((row) => (row[c] ?? '').split(/[\s]+/).map(visible))))
  const room = width - GAP * (columns - 1)
  let fitted = natural
  // Lower a common cap on the widest columns until the row fits or every column is at its floor.
  for (let cap = Math.max(...natural); natural.reduce((a, b) => a + b, 0) > room && cap > 0; cap--) {
    fitted = natural.map((w, c) => Math.max(floor[c], Math.min(w, cap)))
    if (fitted.reduce((a, b) => a + b, 0) <= room || fitted.every((w, c) => w === floor[c])) break
  }
  return fitted
}

/** A borderless table, cut to the terminal's width when stdout is one; long cells wrap at words. */
export function table(head: string[], rows: Array<Array<string | number>>, stream: NodeJS.WriteStream = process.stdout): string {
  const Table = require('cli-table3') as typeof import('cli-table3')
  const cells = [head.map((h) => chalk.bold(h)), ...rows.map((row) => row.map(String))]
  const colWidths = fitColumns(cells, stream.isTTY ? stream.columns : undefined)
  const t = new Table({
    head: cells[0],
    colWidths,
    wordWrap: true,
    wrapOnWordBoundary: true,
    style: {head: [], border: [], compact: true, 'padding-left': 0, 'padding-right': 0},
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: ' '.repeat(GAP),
    },
  })
  for (const row of cells.slice(1)) t.push(row)
  return t
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
}

/** "1 file", "2 files"; the plural when it is not the noun and an s. */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`
}

/** How long ago, in words: "12 s ago", "12 min ago", "3 h ago", "2 days ago". */
export function age(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000))
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 48 * 3600) return `${Math.floor(s / 3600)} h ago`
  return `${Math.floor(s / 86_400)} days ago`
}

/** A time for people: local time and age on a terminal, ISO (as in --json) when piped. */
export function when(iso: string | undefined, stream: NodeJS.WriteStream = process.stdout, now = Date.now()): string {
  if (!iso || Number.isNaN(Date.parse(iso))) return iso ?? ''
  if (!stream.isTTY) return iso
  const d = new Date(iso)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} (${age(iso, now)})`
}
