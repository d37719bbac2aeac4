// Resolves where things are: flags beat environment (CKPT_*), environment beats the job file.
import {hostname} from 'node:os'
import * as path from 'node:path'
import {UsageError} from '../errors.js'
import {DEFAULT_JOB_FILE, DEFAULT_LOCAL_ROOT, DEFAULT_PRIMARY, ID_PATTERN, loadJobFile, type JobSpec} from './job-file.js'

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
  return path.resolve(input.jobFile ?? env.CKPT_JOB_FILE ?? DEFAULT_JOB_FILE)
}

export function resolveNode(input: SettingsInput, env: NodeJS.ProcessEnv = process.env): string {
  const node = input.node ?? env.CKPT_NODE ?? hostname()
  if (!ID_PATTERN.test(node)) {
    throw new UsageError(`node ${JSON.stringify(node)} may only contain letters, digits, '.', '_' and '-'; set --node or CKPT_NODE`)
  }
  return node
}

export async function resolveSettings(input: SettingsInput, env: NodeJS.ProcessEnv = process.env): Promise<Settings> {
  const job = await loadJobFile(resolveJobFilePath(input, env))
  const envRoots = env.CKPT_LOCAL_ROOTS?.split(':').filter((r) => r !== '')
  let localRoots: string[]
  if (input.localRoots && input.localRoots.length > 0) localRoots = input.localRoots.map((r) => path.resolve(r))
  else if (envRoots && envRoots.length > 0) localRoots = envRoots.map((r) => path.resolve(r))
  else localRoots = job.localRoots ?? [path.resolve(job.baseDir, DEFAULT_LOCAL_ROOT)]
  const primaryUrl = input.primary ?? env.CKPT_PRIMARY ?? job.primary ?? DEFAULT_PRIMARY
  const fromFile = input.primary === undefined && env.CKPT_PRIMARY === undefined
  return {
    job,
    // A relative folder in the job file resolves against the job file's folder; on a flag, against the working folder.
    primaryUrl: fromFile && !/^[a-z][a-z0-9+.-]*:/i.test(primaryUrl) ? path.resolve(job.baseDir, primaryUrl) : primaryUrl,
    localRoots: [...new Set(localRoots)],
    node: resolveNode(input, env),
    transfer: {blockSize: input.blockSize ?? job.transfer.blockSize, concurrency: input.concurrency ?? job.transfer.concurrency},
  }
}
