// Resolves where things are: flags beat environment (CKPT_*), environment beats the job file.
import {hostname} from 'node:os'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'
import {UsageError} from '../errors.js'
import {checkOverlaps, distinctRoots} from './overlap.js'
import {resolveJobFile} from './job-file-path.js'
import {DEFAULT_LOCAL_ROOT, DEFAULT_PRIMARY, ID_PATTERN, loadJobFile, type JobSpec} from './job-file.js'

export interface SettingsInput {
  jobFile?: string
  primary?: string
  localRoots?: string[]
  node?: string
  blockSize?: number
  concurrency?: number
}

export interface Settings {
  job: JobSpec
  primaryUrl: string
  localRoots: string[]
  node: string
  transfer: {blockSize?: number; concurrency?: number}
}

export function resolveJobFilePath(input: SettingsInput, env: NodeJS.ProcessEnv = process.env): string {
  return resolveJobFile(input.jobFile ?? env.CKPT_JOB_FILE)
}

export function resolveNode(input: SettingsInput, env: NodeJS.ProcessEnv = process.env): string {
  const node = input.node ?? env.CKPT_NODE ?? hostname()
  if (!ID_PATTERN.test(node)) {
    throw new UsageError(`node ${JSON.stringify(node)} may only contain letters, digits, '.', '_' and '-'; set another node name (CKPT_NODE)`)
  }
  return node
}

/** CKPT_LOCAL_ROOTS: colon-separated folders, or undefined when unset. */
export function localRootsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  return env.CKPT_LOCAL_ROOTS?.split(':').filter((r) => r !== '')
}

export async function resolveSettings(input: SettingsInput, env: NodeJS.ProcessEnv = process.env): Promise<Settings> {
  const job = await loadJobFile(resolveJobFilePath(input, env))
  const envRoots = localRootsFromEnv(env)
  let localRoots: string[]
  if (input.localRoots && input.localRoots.length > 0) localRoots = input.localRoots.map((r) => path.resolve(r))
  else if (envRoots && envRoots.length > 0) localRoots = envRoots.map((r) => path.resolve(r))
  else localRoots = job.localRoots ?? [path.resolve(job.baseDir, DEFAULT_LOCAL_ROOT)]
  const given = input.primary ?? env.CKPT_PRIMARY
  const primaryUrl = resolvePrimaryUrl(given ?? job.primary ?? DEFAULT_PRIMARY, given === undefined ? job.baseDir : process.cwd())
  const roots = await distinctRoots([...new Set(localRoots)])
  await checkOverlaps(job, primaryFolderOf(primaryUrl), roots)
  return {
    job,
    primaryUrl,
    localRoots: roots,
    node: resolveNode(input, env),
    transfer: {blockSize: input.blockSize ?? job.transfer.blockSize, concurrency: input.concurrency ?? job.transfer.concurrency},
  }
}

const SCHEME = /^[a-z][a-z0-9+.-]*:/i

/**
 * A plain folder becomes absolute here, once: against the job file's folder when the job file
 * names it, against the working folder on a flag or in the environment.
 */
export function resolvePrimaryUrl(url: string, against: string): string {
  return SCHEME.test(url) || url.trim() === '' ? url : path.resolve(against, url)
}

/** The folder of a file primary (a plain path or file://PATH), or undefined for other stores. */
export function primaryFolderOf(url: string): string | undefined {
  if (/^file:/i.test(url)) {
    try {
      return fileURLToPath(url)
    } catch {
      // not a valid file URL: the caller treats it as not a folder
      return undefined
    }
  }
  return SCHEME.test(url) ? undefined : url
}
