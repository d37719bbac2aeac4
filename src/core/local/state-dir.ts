// A task's state folder on this node: what a stateDir link leads to, and the names of the folders a
// restore makes beside it (staging, the old state moved aside), which an interrupted command removes.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {OperationError} from '../errors.js'
import {lstatOrUndefined} from '../util/remove-tree.js'

export const STAGING = '.ckpt-restore-'
export const OLD = '.ckpt-old-'

/** Links followed at most when resolving a stateDir, as Linux's MAXSYMLINKS. */
const MAX_HOPS = 40

/**
 * The folder a restore swaps: a stateDir that is a symbolic link is restored into what it points to
 * (the link stays), so staging and swap happen beside the target, on its file system.
 */
export async function stateDirOf(stateDir: string): Promise<string> {
  let at = path.resolve(stateDir)
  for (let hops = 0; hops <= MAX_HOPS; hops++) {
    const st = await lstatOrUndefined(at)
    if (!st?.isSymbolicLink()) return at
    at = path.resolve(path.dirname(at), await fs.readlink(at))
  }
  throw new OperationError(`stateDir ${stateDir} leads through more than ${MAX_HOPS} symbolic links; point it at a folder`)
}
