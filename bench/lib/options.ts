// Bench settings: defaults, then CKPT_BENCH_* environment, then --flags. --smoke picks tiny sizes.
import * as os from 'node:os'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseSize} from '../../src/core/config/units.js'
import {parseProfile, SAME_MACHINE} from './netem-proxy.js'

/** Format 2 (issue 13): bench/cases/incremental*.ts. */
export const INCREMENTAL_CASES = ['incr-take', 'incr-file', 'incr-chain', 'incr-restore', 'incr-unchanged', 'incr-pause'] as const

/** Many nodes (issue 14): bench/cases/many-nodes.ts. */
export const MANY_NODES_CASES = ['mn-recovery', 'mn-checkpoint'] as const

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

export const CASES = ['startup', 'local', 'file-store', 'azure-restore', 'azure-take', 'growth-files', 'memory', 'growth-checkpoints', ...INCREMENTAL_CASES, ...MANY_NODES_CASES] as const
/** Cases run only when --cases names them: measurements for one decision, not the release figures. */
export const OPT_IN_CASES = ['azure-transfer', 'azure-mn-recovery'] as const
export type CaseName = (typeof CASES)[number] | (typeof OPT_IN_CASES)[number]

export interface BenchOptions {
  /** Where RESULTS.md and results.json go. */
  outDir: string
  /** Names the files RESULTS-LABEL.md and results-LABEL.json instead (empty: none). */
  label: string
  /** Parent folder of the scratch folder (data sets, stores, Azurite). */
  workParent: string
  /** State of the main cases (local, file store). */
  size: number
  files: number
  /** State of the Azurite cases. */
  azureSize: number
  azureFiles: number
  pairs: number
  /** Links the Azurite cases run over, in order: same-machine (no model) or a profile of netem-proxy.ts. */
  networks: string[]
  startupRuns: number
  /** Single-file state for the peak-memory case. */
  memorySize: number
  /** File counts of the growth series (the largest is also the small-files memory case). */
  growthFiles: number[]
  growthFileSize: number
  growthCheckpoints: number[]
  growthRuns: number
  /** Format 2 cases: the many-file state (1% of its files change per step), the single big file, the unchanged many-small-files state. */
  incrSize: number
  incrFiles: number
  incrFileSize: number
  incrManyFiles: number
  /** Takes of the chain case; checkpoints and interval (s) of each `ckpt run` of the pause case. */
  incrTakes: number
  incrRunCheckpoints: number
  incrInterval: number
  /** Many-node cases: each task's state (8 tasks), its files, and the timed checkpoints per side. */
  mnSize: number
  mnFiles: number
  mnCheckpoints: number
  /** install: apt-get install missing peers; if-present: use installed ones, report the rest as not run. */
  peers: 'install' | 'if-present'
  cases: CaseName[]
  build: boolean
  keep: boolean
  /** Limit for one command (ms). */
  timeoutMs: number
  /** The CLI entry point to measure. */
  cli: string
  /** Another ckpt checkout with a built dist/ to compare against (empty: none); see bench/cases/baseline.ts. */
  baseline: string
  /** Its CLI entry point (baseline/bin/run.js). */
  baselineCli: string
}

const GiB = 1024 ** 3
const MiB = 1024 ** 2

export function defaultOptions(): BenchOptions {
  return {
    outDir: path.join(repoRoot, 'bench'),
    label: '',
    workParent: os.tmpdir(),
    size: 1 * GiB,
    files: 1000,
    // Half the 1 GiB / 1,000 files, so the default run fits in 10 minutes on 2 cores
    // (Azurite shares them); the full size is --azure-size 1GiB --azure-files 1000.
    azureSize: 512 * MiB,
    azureFiles: 500,
    pairs: 3,
    networks: [SAME_MACHINE, 'cloud'],
    startupRuns: 10,
    memorySize: 4 * GiB,
    growthFiles: [1000, 10_000, 100_000],
    growthFileSize: 1024,
    growthCheckpoints: [10, 100, 1000],
    growthRuns: 3,
    incrSize: 1 * GiB,
    incrFiles: 1000,
    incrFileSize: 1 * GiB,
    incrManyFiles: 100_000,
    incrTakes: 20,
    incrRunCheckpoints: 5,
    incrInterval: 5,
    mnSize: 64 * MiB,
    mnFiles: 200,
    mnCheckpoints: 5,
    peers: 'install',
    cases: [...CASES],
    build: true,
    keep: false,
    timeoutMs: 20 * 60_000,
    cli: path.join(repoRoot, 'bin', 'run.js'),
    baseline: '',
    baselineCli: '',
  }
}

/** Seconds, not minutes: for the smoke test. */
export function smokeOptions(): Partial<BenchOptions> {
  return {
    size: 4 * MiB,
    files: 20,
    azureSize: 4 * MiB,
    azureFiles: 20,
    pairs: 1,
    startupRuns: 1,
    memorySize: 8 * MiB,
    growthFiles: [10, 40],
    growthFileSize: 256,
    growthCheckpoints: [2, 4],
    growthRuns: 1,
    incrSize: 4 * MiB,
    incrFiles: 100,
    incrFileSize: 16 * MiB,
    incrManyFiles: 200,
    incrTakes: 4,
    incrRunCheckpoints: 3,
    incrInterval: 1,
    mnSize: 1 * MiB,
    mnFiles: 20,
    mnCheckpoints: 2,
    peers: 'if-present',
    build: false,
    timeoutMs: 120_000,
  }
}

type Parser = (value: string, name: string) => unknown

const size: Parser = (v, name) => {
  const n = parseSize(v)
  if (n === undefined || n <= 0) throw new Error(`${name} ${v}: not a size (bytes, or e.g. 256MiB, 1GiB)`)
  return n
}
const int: Parser = (v, name) => {
  const n = Number(v.replace(/_/g, ''))
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} ${v}: not a positive integer`)
  return n
}
const ints: Parser = (v, name) => v.split(',').map((part) => int(part.trim(), name) as number)
const pathOf: Parser = (v) => path.resolve(v)

const FLAGS: Record<string, [keyof BenchOptions, Parser]> = {
  out: ['outDir', pathOf],
  label: [
    'label',
    (v, name) => {
      if (!/^[a-z0-9][a-z0-9-]*$/.test(v)) throw new Error(`${name} ${v}: use lowercase letters, digits and dashes`)
      return v
    },
  ],
  work: ['workParent', pathOf],
  size: ['size', size],
  files: ['files', int],
  'azure-size': ['azureSize', size],
  'azure-files': ['azureFiles', int],
  pairs: ['pairs', int],
  network: [
    'networks',
    (v) => {
      const list = v.split(',').map((n) => n.trim())
      for (const n of list) parseProfile(n)
      return list
    },
  ],
  'startup-runs': ['startupRuns', int],
  'memory-size': ['memorySize', size],
  'growth-files': ['growthFiles', ints],
  'growth-file-size': ['growthFileSize', size],
  'growth-checkpoints': ['growthCheckpoints', ints],
  'growth-runs': ['growthRuns', int],
  'incr-size': ['incrSize', size],
  'incr-files': ['incrFiles', int],
  'incr-file-size': ['incrFileSize', size],
  'incr-many-files': ['incrManyFiles', int],
  'incr-takes': ['incrTakes', int],
  'incr-run-checkpoints': ['incrRunCheckpoints', int],
  'incr-interval': ['incrInterval', int],
  'mn-size': ['mnSize', size],
  'mn-files': ['mnFiles', int],
  'mn-checkpoints': ['mnCheckpoints', int],
  peers: [
    'peers',
    (v, name) => {
      if (v !== 'install' && v !== 'if-present') throw new Error(`${name} ${v}: use install or if-present`)
      return v
    },
  ],
  cases: [
    'cases',
    (v, name) => {
      const list = v.split(',').map((c) => c.trim())
      for (const c of list) if (![...CASES, ...OPT_IN_CASES].includes(c as CaseName)) throw new Error(`${name}: unknown case ${c} (cases: ${[...CASES, ...OPT_IN_CASES].join(', ')})`)
      return list
    },
  ],
  timeout: ['timeoutMs', (v, name) => (int(v, name) as number) * 1000],
  cli: ['cli', pathOf],
  baseline: ['baseline', pathOf],
}

export const USAGE = `npm run bench -- [flags]      (every flag also reads CKPT_BENCH_<NAME>, e.g. CKPT_BENCH_SIZE=256MiB)
  --size 1GiB --files 1000               state of the local and file-store cases
  --azure-size 512MiB --azure-files 500  state of the Azurite cases (the issue's full size: 1GiB and 1000)
  --pairs 3                              A B A B ... rounds per case
  --network same-machine,cloud           links for the Azurite cases: same-machine (direct), lan (10 Gbit/s, 0.2 ms),
                                         cloud (1 Gbit/s, 2 ms), wan (200 Mbit/s, 20 ms), or RATE/RTT[/PER_CONNECTION]
                                         (e.g. 500Mbit/10ms/100Mbit); a comma-separated list runs each in turn
  --startup-runs 10                      rounds of the start-up case
  --memory-size 4GiB                     single-file state of the peak-memory case
  --growth-files 1000,10000,100000 --growth-file-size 1KiB --growth-checkpoints 10,100,1000 --growth-runs 3
  --incr-size 1GiB --incr-files 1000     format-2 cases: the state of which 1% of the files change per step
  --incr-file-size 1GiB                  the single file with ten 1 MiB regions rewritten in place
  --incr-many-files 100000               the unchanged small-files state (1 KiB each)
  --incr-takes 20 --incr-run-checkpoints 5 --incr-interval 5   takes of the chain case; checkpoints and interval (s) per ckpt run
  --mn-size 64MiB --mn-files 200 --mn-checkpoints 5   many-node cases: each of the 8 tasks' state; timed checkpoints per side
  --peers install|if-present             install missing peers with apt-get (default), or report them not run
  --cases ${CASES.join(',')}   (also, only when named: ${OPT_IN_CASES.join(',')})
  --cli PATH (the ckpt entry point; default bin/run.js, built first unless --no-build)
  --baseline CHECKOUT                    compare with another ckpt checkout's built CLI, side by side: start-up, file-store
                                         take and restore, local restore (cases startup, file-store, local only; writes
                                         RESULTS-baseline.md unless --label), e.g. --baseline ../base --cases startup
  --label NAME (write RESULTS-NAME.md and results-NAME.json)  --out DIR (default bench/)  --work DIR (scratch parent, default $TMPDIR)  --timeout SECONDS (per command)
  --render (only rewrite RESULTS.md from results.json)  --smoke (tiny sizes)  --no-build (use the existing dist/)  --keep (keep the scratch folder)`

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const options: BenchOptions = defaultOptions()
  const smoke = argv.includes('--smoke') || env.CKPT_BENCH_SMOKE === '1'
  if (smoke) Object.assign(options, smokeOptions())
  for (const [flag, [key, parse]] of Object.entries(FLAGS)) {
    const envName = `CKPT_BENCH_${flag.toUpperCase().replace(/-/g, '_')}`
    if (env[envName] !== undefined && env[envName] !== '') (options as any)[key] = parse(env[envName]!, envName)
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--smoke' || arg === '--render') continue
    if (arg === '--no-build') {
      options.build = false
      continue
    }
    if (arg === '--build') {
      options.build = true
      continue
    }
    if (arg === '--keep') {
      options.keep = true
      continue
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg)
    const spec = m ? FLAGS[m[1]] : undefined
    if (!m || !spec) throw new Error(`unknown argument ${arg}\n${USAGE}`)
    const value = m[2] ?? argv[++i]
    if (value === undefined) throw new Error(`--${m[1]} needs a value`)
    ;(options as any)[spec[0]] = spec[1](value, `--${m[1]}`)
  }
  if (options.baseline) {
    options.baselineCli = path.join(options.baseline, 'bin', 'run.js')
    options.label ||= 'baseline'
  }
  options.growthFiles.sort((a, b) => a - b)
  options.growthCheckpoints.sort((a, b) => a - b)
  return options
}
