// Renders the core's progress events (src/core/progress.ts) on stderr: on a terminal one line per
// task, redrawn in place and cut to the width; in a log one status line every 10 s; for scripts
// JSON lines (--progress json); nothing with --quiet or --progress none.
import * as Flags from '@oclif/core/flags'
import {formatBytes} from '../core/config/units.js'
import type {ProgressEvent, ProgressListener, ProgressPhase} from '../core/progress.js'
import {RateWindow} from './rate.js'
import {chalkStderr as chalk} from './render.js'

export type ProgressMode = 'tty' | 'plain' | 'json' | 'none'

export const progressFlags = {
  progress: Flags.string({
    summary: "Progress on stderr: 'auto' (a live line per task on a terminal, else a status line every 10s), 'json' (JSON lines), 'none'.",
    options: ['auto', 'json', 'none'],
    default: 'auto',
  }),
}

export function progressMode(flags: {progress?: string; quiet?: boolean}, stream: NodeJS.WriteStream = process.stderr): ProgressMode {
  if (flags.progress === 'json') return 'json'
  if (flags.quiet || flags.progress === 'none') return 'none'
  return stream.isTTY && process.env.TERM !== 'dumb' ? 'tty' : 'plain'
}

export interface ProgressDisplay {
  listener: ProgressListener
  /** Clears the live lines (a terminal) and stops the timer. */
  done(): void
}

export interface DisplayOptions {
  stream?: NodeJS.WriteStream
  /** Plain mode: time between status lines (default 10 s). */
  statusEveryMs?: number
  now?: () => number
}

interface TaskLine {
  taskId: string
  event: ProgressEvent
  phaseStarted: number
  rate: RateWindow
}

const WORD: Record<ProgressPhase, string> = {reading: 'reading', uploading: 'uploading', verifying: 'verifying', writing: 'writing'}

/** One line per task, as many as the terminal has rows; the rest summed up in the last. */
function fitRows(all: TaskLine[], rows: number, at: number): string[] {
  const idWidth = Math.max(...all.map((t) => t.taskId.length))
  const texts = all.map((t) => taskText(t, idWidth, at))
  if (texts.length <= rows) return texts
  const finished = all.slice(rows - 1).filter((t) => t.event.finished).length
  return [...texts.slice(0, rows - 1), `… ${texts.length - rows + 1} more tasks (${finished} of them done)`]
}

export function progressDisplay(mode: ProgressMode, options: DisplayOptions = {}): ProgressDisplay {
  if (mode === 'none') return {listener: () => {}, done: () => {}}
  const stream = options.stream ?? process.stderr
  const now = options.now ?? Date.now
  const started = now()
  const tasks = new Map<string, TaskLine>()
  const lastJson = new Map<string, number>()
  let drawnLines = 0
  let timer: NodeJS.Timeout | undefined

  const track = (event: ProgressEvent): TaskLine => {
    let line = tasks.get(event.taskId)
    if (!line || line.event.phase !== event.phase) {
      line = {taskId: event.taskId, event, phaseStarted: now(), rate: new RateWindow(5000)}
      tasks.set(event.taskId, line)
    }
    line.event = event
    line.rate.add(now(), event.done.bytes)
    return line
  }

  const drawTty = () => {
    const width = Math.max(10, (stream.columns || 80) - 1) // the last column would wrap on some terminals
    const rows = Math.max(2, (stream.rows || 24) - 1)
    const lines = fitRows([...tasks.values()], rows, now()).map((text) => cut(text, width))
    let out = drawnLines > 1 ? `\u001B[${drawnLines - 1}A` : ''
    out += '\r' + lines.map((l) => `\u001B[2K${l}`).join('\n') + '\u001B[J'
    stream.write(out)
    drawnLines = lines.length
  }

  const plainLine = () => {
    const active = [...tasks.values()]
    if (active.length === 0) return
    stream.write(`ckpt: ${summaryText(active, now() - started)}\n`)
  }

  const jsonLine = (line: TaskLine, force: boolean) => {
    const at = now()
    if (!force && at - (lastJson.get(line.taskId) ?? -Infinity) < 1000) return
    lastJson.set(line.taskId, at)
    stream.write(JSON.stringify(progressRecord(line, at)) + '\n')
  }

  const listener: ProgressListener = (event) => {
    const line = track(event)
    if (mode === 'json') return jsonLine(line, event.finished || event.done.bytes === 0)
    if (!timer) {
      timer = setInterval(() => (mode === 'tty' ? drawTty() : plainLine()), mode === 'tty' ? 200 : (options.statusEveryMs ?? 10_000))
      timer.unref()
      if (mode === 'tty') drawTty()
    }
  }

  return {
    listener,
    done() {
      if (timer) clearInterval(timer)
      timer = undefined
      if (mode === 'tty' && drawnLines > 0) {
        stream.write(`${drawnLines > 1 ? `\u001B[${drawnLines - 1}A` : ''}\r\u001B[J`)
        drawnLines = 0
      }
    },
  }
}

/** One task on a terminal: id, phase, percent, bytes and files of the totals, rate, elapsed, ETA. */
function taskText(t: TaskLine, idWidth: number, at: number): string {
  const {event} = t
  const pct = percent(event)
  const rate = t.rate.perSecond(at)
  const elapsed = at - t.phaseStarted
  const parts = [
    chalk.bold(t.taskId.padEnd(idWidth)),
    event.finished ? chalk.green('done'.padEnd(9)) : chalk.cyan(WORD[event.phase].padEnd(9)),
    `${String(pct).padStart(3)}%`,
    `${formatBytes(event.done.bytes)}/${formatBytes(event.total.bytes)}`,
    `${event.done.files}/${event.total.files} files`,
    `${formatBytes(rate)}/s`,
    clock(elapsed),
    event.finished ? '' : `ETA ${eta(event, rate)}`,
  ]
  return parts.filter((p) => p !== '').join('  ')
}

/** The plain status line: every task's phase and the sums over the tasks that have started. */
function summaryText(lines: TaskLine[], elapsedMs: number): string {
  const sum = (f: (e: ProgressEvent) => number) => lines.reduce((s, t) => s + f(t.event), 0)
  const done = {bytes: sum((e) => e.done.bytes), files: sum((e) => e.done.files)}
  const total = {bytes: sum((e) => e.total.bytes), files: sum((e) => e.total.files)}
  const rate = lines.reduce((s, t) => s + (t.event.finished ? 0 : t.rate.perSecond()), 0)
  const phases = [...new Set(lines.filter((t) => !t.event.finished).map((t) => WORD[t.event.phase]))].join('+') || 'finishing'
  const all = {taskId: '', phase: lines[0].event.phase, done, total, finished: false}
  const tasks = `${lines.length} task${lines.length === 1 ? '' : 's'}`
  return `${phases} ${percent(all)}%, ${formatBytes(done.bytes)} of ${formatBytes(total.bytes)}, ${done.files} of ${total.files} files (${tasks}), ${formatBytes(rate)}/s, ${clock(elapsedMs)} elapsed, ETA ${eta(all, rate)}`
}

function progressRecord(t: TaskLine, at: number) {
  const {event} = t
  const rate = t.rate.perSecond()
  const left = event.total.bytes - event.done.bytes
  return {
    type: 'progress',
    taskId: event.taskId,
    phase: event.phase,
    bytesDone: event.done.bytes,
    bytesTotal: event.total.bytes,
    filesDone: event.done.files,
    filesTotal: event.total.files,
    percent: percent(event),
    bytesPerSecond: Math.round(rate),
    elapsedMs: Math.round(at - t.phaseStarted),
    ...(event.finished ? {} : rate > 0 ? {etaMs: Math.round((left / rate) * 1000)} : {}),
    finished: event.finished,
  }
}

function percent(e: ProgressEvent): number {
  if (e.finished) return 100
  if (e.total.bytes === 0) return e.total.files === 0 ? 0 : Math.floor((100 * e.done.files) / e.total.files)
  return Math.floor((100 * e.done.bytes) / e.total.bytes)
}

function eta(e: ProgressEvent, rate: number): string {
  const left = e.total.bytes - e.done.bytes
  if (left <= 0) return '0:00'
  return rate > 0 ? clock((left / rate) * 1000) : '?'
}

/** m:ss, or h:mm:ss from an hour. */
export function clock(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  const two = (n: number) => String(n).padStart(2, '0')
  return s >= 3600 ? `${Math.floor(s / 3600)}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}` : `${Math.floor(s / 60)}:${two(s % 60)}`
}

/** Cuts text to `width` visible columns, keeping colour codes (and closing them). */
export function cut(text: string, width: number): string {
  let visible = 0
  let out = ''
  for (let i = 0; i < text.length; i++) {
    const esc = /^\u001B\[[0-9;]*m/.exec(text.slice(i))
    if (esc) {
      out += esc[0]
      i += esc[0].length - 1
      continue
    }
    if (visible === width) return out + (out.includes('\u001B[') ? '\u001B[0m' : '')
    out += text[i]
    visible++
  }
  return out
}
