// Drives ckpt as users do: the built CLI (node bin/run.js) as a child process, so start-up,
// argument parsing and store opening are all in the figures.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {runCommand, type RunResult} from './exec.js'
import {repoRoot} from './options.js'

export const CKPT_BIN = path.join(repoRoot, 'bin', 'run.js')
export const NODE_NAME = 'bench'

export interface JobFileSpec {
  job: string
  primary: string
  localRoot: string
  stateDir: string
  taskId?: string
  /** What takes write (the job file's checkpoint.format); absent: ckpt's default. */
  format?: 1 | 2
}

/** Writes a one-task job file and returns its path. */
export async function writeJobFile(file: string, spec: JobFileSpec): Promise<string> {
  await fs.mkdir(path.dirname(file), {recursive: true})
  const doc = {
    job: spec.job,
    primary: spec.primary,
    localRoots: [spec.localRoot],
    ...(spec.format ? {checkpoint: {format: spec.format}} : {}),
    tasks: [{id: spec.taskId ?? 't0', stateDir: spec.stateDir}],
  }
  await fs.writeFile(file, JSON.stringify(doc, null, 2))
  return file
}

/** The environment of a ckpt child: no inherited CKPT_* or Azure settings, no colour. */
export function ckptEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CKPT_') && !k.startsWith('AZURE_') && k !== 'FORCE_COLOR') env[k] = v
  return {...env, NO_COLOR: '1', CKPT_NODE: NODE_NAME, ...extra}
}

export interface Ckpt {
  argv(args: string[]): string[]
  /** How the command reads in the results: job files shown by name only. */
  display(args: string[]): string
  run(args: string[]): Promise<RunResult & {json: any}>
}

export function ckpt(env: NodeJS.ProcessEnv, timeoutMs: number, bin = CKPT_BIN): Ckpt {
  const argv = (args: string[]) => [process.execPath, bin, ...args]
  return {
    argv,
    display: (args) => ['ckpt', ...args.map((a) => (a.endsWith('.json') ? path.basename(a) : a))].join(' '),
    async run(args) {
      const result = await runCommand(argv(args), {env, timeoutMs})
      let json: any
      try {
        json = JSON.parse(result.stdout)
      } catch {
        json = undefined
      }
      return {...result, json}
    },
  }
}

export interface TreeSummary {
  files: number
  bytes: number
}

export async function treeSummary(dir: string): Promise<TreeSummary> {
  let files = 0
  let bytes = 0
  const walk = async (d: string) => {
    for (const entry of await fs.readdir(d, {withFileTypes: true})) {
      const p = path.join(d, entry.name)
      if (entry.isDirectory()) await walk(p)
      else if (entry.isFile()) {
        files++
        bytes += (await fs.stat(p)).size
      }
    }
  }
  await walk(dir)
  return {files, bytes}
}

/** Fails the bench when a run did not produce the whole tree. */
export async function expectTree(dir: string, want: TreeSummary, what: string): Promise<void> {
  const got = await treeSummary(dir)
  if (got.files !== want.files || got.bytes !== want.bytes) {
    throw new Error(`${what}: ${dir} holds ${got.files} files / ${got.bytes} bytes, expected ${want.files} / ${want.bytes}`)
  }
}
