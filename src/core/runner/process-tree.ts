// The processes below a task that left its process group (daemons such as PostgreSQL put each
// child in a session of its own), so a pause stops the whole task and not its leader alone.
import {readdirSync, readFileSync} from 'node:fs'

/** Every descendant of pid, from /proc (Linux); none elsewhere, where the group pause is all there is. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>()
  let names: string[]
  try {
    names = readdirSync('/proc')
  } catch {
    // no /proc (not Linux): no descendants can be found
    return []
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8')
    } catch {
      continue // gone meanwhile
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    const siblings = children.get(ppid)
    if (siblings) siblings.push(Number(name))
    else children.set(ppid, [Number(name)])
  }
  const found: number[] = []
  for (let queue = [pid]; queue.length > 0;) {
    const next = children.get(queue.pop()!) ?? []
    found.push(...next)
    queue.push(...next)
  }
  return found
}

/** Stops every descendant, again until no new one appears (one may fork while the scan runs); returns them. */
export function stopDescendants(pid: number, signal: (pid: number, sig: NodeJS.Signals) => void): number[] {
  const stopped = new Set<number>()
  for (let round = 0; round < 5; round++) {
    const fresh = descendants(pid).filter((p) => !stopped.has(p))
    if (fresh.length === 0) break
    for (const p of fresh) {
      signal(p, 'SIGSTOP')
      stopped.add(p)
    }
  }
  return [...stopped]
}
