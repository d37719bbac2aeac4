// The take's side of safe links (docs/CONTRACT.md promise 7): a link a restore would refuse is refused
// when the checkpoint is taken, naming it, so no checkpoint is committed that can never be restored.
import {OperationError} from '../errors.js'
import type {FileEntry} from '../format/manifest.js'
import {resolveLink} from '../format/safe-path.js'

/** Refuses absolute links and links that resolve outside the state, through its other links too. */
export function checkLinks(entries: readonly FileEntry[], what: string): void {
  const links = new Map<string, string>()
  for (const entry of entries) if (entry.type === 'symlink') links.set(entry.path, entry.target!)
  const fix = 'which a restore refuses; remove or make it relative to a path inside the state folder'
  for (const [link, target] of links) {
    // The same resolution as a restore's (safe-path.ts), so the take refuses exactly what a restore would.
    const outcome = target.startsWith('/') ? 'absolute' : resolveLink(link, links)
    if (outcome === 'absolute') throw new OperationError(`${what}: symlink ${link} points to the absolute path ${JSON.stringify(target)}, ${fix}`)
    if (outcome === 'outside') throw new OperationError(`${what}: symlink ${link} points outside the state folder (${JSON.stringify(target)}), ${fix}`)
    if (outcome === 'loop') throw new OperationError(`${what}: symlink ${link} points in a loop (${JSON.stringify(target)}); remove it or point it at a file`)
  }
}
