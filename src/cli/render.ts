// Terminal rendering: tables, colour (only on a terminal, never with NO_COLOR), progress lines.
import {createRequire} from 'node:module'

// cli-table3 costs ~70 ms to load, so only commands that draw a table load it, when they draw it.
const require = createRequire(import.meta.url)

export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0') return true
  return Boolean(stream.isTTY)
}

const codes = {red: [31, 39], green: [32, 39], yellow: [33, 39], cyan: [36, 39], dim: [2, 22], bold: [1, 22]} as const

export const paint = Object.fromEntries(
  Object.entries(codes).map(([name, [open, close]]) => [name, (text: string, color = useColor()) => (color ? `\u001B[${open}m${text}\u001B[${close}m` : text)]),
) as Record<keyof typeof codes, (text: string, color?: boolean) => string>

export function table(head: string[], rows: Array<Array<string | number>>): string {
  const color = useColor()
  const Table = require('cli-table3') as typeof import('cli-table3')
  const t = new Table({
    head: head.map((h) => paint.bold(h, color)),
    style: {head: [], border: [], compact: true},
    chars: {top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  '},
  })
  for (const row of rows) t.push(row.map(String))
  return t.toString().split('\n').map((line) => line.trimEnd().replace(/^ /, '')).join('\n')
}

export function statusColor(status: string): string {
  const color = useColor()
  if (status === 'completed' || status === 'confirmed' || status === 'local' || status === 'written') return paint.green(status, color)
  if (status === 'incomplete' || status === 'pending' || status === 'mixed' || status === 'unknown') return paint.yellow(status, color)
  if (status === 'orphaned' || status === 'failed' || status === 'broken') return paint.red(status, color)
  return status
}
