// The starter job file of 'ckpt init'.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {UsageError} from '../errors.js'
import {DEFAULT_LOCAL_ROOT, DEFAULT_PRIMARY} from './job-file.js'

export interface InitResult {
  jobFile: string
  job: string
  tasks: string[]
}

export async function writeStarterJobFile(file: string, options: {force?: boolean} = {}): Promise<InitResult> {
  const jobFile = path.resolve(file)
  const baseDir = path.dirname(jobFile)
  const job = path.basename(baseDir).replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 128) || 'job'
  const doc = {
    job,
    primary: DEFAULT_PRIMARY,
    localRoots: [DEFAULT_LOCAL_ROOT],
    retain: {primary: 3, local: 1},
    checkpoint: {interval: '30s', timeout: '10m'},
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
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`job file ${jobFile} already exists; use --force to overwrite it`)
    throw error
  }
  await fs.mkdir(path.join(baseDir, 'state', 'worker-0'), {recursive: true})
  return {jobFile, job, tasks: doc.tasks.map((t) => t.id)}
}
