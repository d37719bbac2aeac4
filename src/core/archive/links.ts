// The take's side of safe links (DESIGN.md invariant 7): a link a restore would refuse is refused
// when the checkpoint is taken, naming it, so no checkpoint is committed that can never be restored.
import {OperationError} from '../errors.js'
import type {FileEntry} from '../checkpoint/manifest.js'

/** Links followed while resolving one target before it counts as a loop (Linux's limit). */
const MAX_HOPS = 40

/** Refuses absolute links and links that resolve outside the state, through its other links too. */
export function checkLinks(entries: readonly FileEntry[], what: string): void {
  const links = new Map<string, string>()
  for (const entry of entries) if (entry.type === 'symlink') links.set(entry.path, entry.target!)
  const fix = 'which a restore refuses; remove or make it relative to a path inside the state folder'
  for (const [link, target] of links) {
    const outcome = resolve(links, link)
    if (outcome === 'absolute') throw new OperationError(`${what}: symlink ${link} points to the absolute path ${JSON.stringify(target)}, ${fix}`)
    if (outcome === 'outside') throw new OperationError(`${what}: symlink ${link} points outside the state folder (${JSON.stringify(target)}), ${fix}`)
    if (outcome === 'loop') throw new OperationError(`${what}: symlink ${link} points in a loop (${JSON.stringify(target)}); remove it or point it at a file`)
  }
}

/**
 * Resolves a link's target component by component from the link's folder, following the state's
 * other links as the file system would: a link to "." used as a folder keeps "../.." from looking inside.
 */
function resolve(links: ReadonlyMap<string, string>, link: string): 'inside' | 'outside' | 'absolute' | 'loop' {
  const at = link.split('/').slice(0, -1)
  const pending = links.get(link)!.split('/').reverse()
  if (links.get(link)!.startsWith('/')) return 'absolute'
  let hops = 0
  while (pending.length > 0) {
    const part = pending.pop()!
    if (part === '' || part === '.') continue
    if (part === '..') {
      if (at.length === 0) return 'outside'
      at.pop()
      continue
    }
    at.push(part)
    const next = links.get(at.join('/'))
    if (next === undefined) continue
    if (++hops > MAX_HOPS) return 'loop'
    if (next.startsWith('/')) return 'outside'
    at.pop()
    pending.push(...next.split('/').reverse())
  }
  return 'inside'
}
