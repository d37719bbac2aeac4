// The starter job file of 'ckpt init': named after its file, with the primary, local roots and
// block size it was given written in (paths relative to the file's folder, as the file reads them).
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {JobFileExistsError} from '../errors.js'
import {DEFAULT_LOCAL_ROOT, DEFAULT_PRIMARY} from './job-file.js'
import {jobFileIn} from './job-file-path.js'
import {primaryFolderOf} from './settings.js'

export interface InitResult {
  jobFile: string
  job: string
  tasks: string[]
}

export interface StarterOptions {
  force?: boolean
  /** A primary store URL or folder (a folder relative to cwd). */
  primary?: string
  /** Local roots, relative to cwd. */
  localRoots?: string[]
  /** As given, e.g. "8MiB": the job file keeps the user's words. */
  blockSize?: string
  cwd?: string
}

/** `jobs/orders.json` names the job `orders`: the file, never its folder. */
export function jobNameOf(jobFile: string): string {
  const stem = path.basename(jobFile).replace(/\.json$/i, '')
  return (
    stem
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 128) || 'job'
  )
}

/** A folder as the job file should hold it: relative to the file's folder when under it or near. */
function relativeTo(baseDir: string, folder: string, cwd: string): string {
  const absolute = path.resolve(cwd, folder)
  return path.isAbsolute(folder) ? absolute : path.relative(baseDir, absolute) || '.'
}

export async function writeStarterJobFile(file: string, options: StarterOptions = {}): Promise<InitResult> {
  const cwd = options.cwd ?? process.cwd()
  const jobFile = jobFileIn(file, cwd)
  const baseDir = path.dirname(jobFile)
  const job = jobNameOf(jobFile)
  const given = options.primary
  // A plain folder is written relative to the file; a URL (file://, azure://, https://) as given.
  const primary = given === undefined ? DEFAULT_PRIMARY : primaryFolderOf(given) === given ? relativeTo(baseDir, given, cwd) : given
  const localRoots = options.localRoots?.length ? options.localRoots.map((r) => relativeTo(baseDir, r, cwd)) : [DEFAULT_LOCAL_ROOT]
  const doc = {
    job,
    primary,
    localRoots,
    retain: {primary: 3, local: 1},
    checkpoint: {interval: '30s', timeout: '10m'},
    ...(options.blockSize === undefined ? {} : {transfer: {blockSize: options.blockSize}}),
    tasks: [
      {
        id: 'worker-0',
        stateDir: 'state/worker-0',
        command: 'while true; do date -u +%FT%TZ >> "$CKPT_STATE_DIR/ticks.log"; sleep 1; done',
      },
    ],
  }
  await fs.mkdir(baseDir, {recursive: true})
  try {
    await fs.writeFile(jobFile, JSON.stringify(doc, null, 2) + '\n', {flag: options.force ? 'w' : 'wx'})
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new JobFileExistsError(`job file ${jobFile} already exists`)
    throw error
  }
  await fs.mkdir(path.join(baseDir, 'state', 'worker-0'), {recursive: true})
  return {jobFile, job, tasks: doc.tasks.map((t) => t.id)}
}
