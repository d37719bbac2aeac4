// Ties the tasks' lives to the run's (Node cannot set PR_SET_PDEATHSIG): a small node process in
// its own session, outside the tasks' process groups, is told over a pipe which groups to guard.
// When the pipe closes, because the run ended however it ended (SIGKILL included), it kills every
// group still guarded, and every stopped descendant that left its group, continuing what a capture paused.
import {spawn, type ChildProcess} from 'node:child_process'

const SOURCE = `
const groups = new Set()
const pids = new Set()
let rest = ''
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, () => {})
process.stdin.setEncoding('utf8')
process.stdin.on('data', (chunk) => {
  const lines = (rest + chunk).split('\\n')
  rest = lines.pop()
  for (const line of lines) {
    const single = line[1] === 'p'
    const id = Number(line.slice(single ? 2 : 1))
    const set = single ? pids : groups
    if (line[0] === '+') set.add(id)
    else set.delete(id)
  }
})
const end = () => {
  // A group or process that is already gone needs no signal.
  for (const g of groups) for (const s of ['SIGKILL', 'SIGCONT']) try { process.kill(-g, s) } catch {}
  for (const p of pids) for (const s of ['SIGKILL', 'SIGCONT']) try { process.kill(p, s) } catch {}
  process.exit(0)
}
process.stdin.on('end', end)
process.stdin.on('error', end)
`

export class Watchdog {
  private readonly child: ChildProcess

  constructor() {
    this.child = spawn(process.execPath, ['-e', SOURCE], {detached: true, stdio: ['pipe', 'ignore', 'ignore'], env: {}})
    this.child.on('error', () => {}) // a watchdog that cannot start leaves the run as it was without one
    this.child.stdin!.on('error', () => {})
    this.child.unref()
    ;(this.child.stdin as unknown as {unref?: () => void}).unref?.()
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  /** Guards a task's process group (its leader's pid). */
  guard(pgid: number | undefined): void {
    if (pgid !== undefined) this.child.stdin!.write(`+${pgid}\n`)
  }

  /** The group is gone: forget it, so a later group with the same id is not killed. */
  release(pgid: number | undefined): void {
    if (pgid !== undefined && this.child.stdin!.writable) this.child.stdin!.write(`-${pgid}\n`)
  }

  /** Guards one process outside the groups (a descendant that left its task's group, stopped for a capture). */
  guardProcess(pid: number): void {
    this.child.stdin!.write(`+p${pid}\n`)
  }

  releaseProcess(pid: number): void {
    if (this.child.stdin!.writable) this.child.stdin!.write(`-p${pid}\n`)
  }

  /** Ends the watchdog; it kills whatever is still guarded. */
  close(): void {
    this.child.stdin!.end()
  }
}
