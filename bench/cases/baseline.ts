// --baseline PATH: this build against another ckpt checkout's built CLI (PATH/bin/run.js), side by
// side in one run, so that a restructuring can show it did not slow start-up, take or restore.
// The two builds run in turn, and which goes first alternates every round.
import {access, mkdir, rm} from 'node:fs/promises'
import * as path from 'node:path'
import {ckpt, ckptEnv, expectTree, writeJobFile, type Ckpt} from '../lib/ckpt.js'
import {runCommand} from '../lib/exec.js'
import {interleave, type Measurement, type Side} from '../lib/measure.js'
import {atMostTarget, type BenchContext, type CaseResult, type TargetResult} from '../lib/model.js'
import type {CaseName} from '../lib/options.js'
import {formatSize} from '../lib/report.js'

/** New over base beyond this is a regression; below it, noise on a shared machine. */
export const MAX_RATIO = 1.1

/** The cases that can compare two builds; the others are not run under --baseline. */
export const BASELINE_CASES: CaseName[] = ['startup', 'file-store', 'local']

type Build = 'new' | 'base'
const BUILDS: Build[] = ['new', 'base']

/** The base checkout's CLI, after checking that it was built. */
export async function baselineCli(checkout: string): Promise<string> {
  await access(path.join(checkout, 'dist', 'index.js')).catch(() => {
    throw new Error(`--baseline ${checkout}: no dist/index.js there; run npm run build in that checkout first`)
  })
  return path.join(checkout, 'bin', 'run.js')
}

function clis(b: BenchContext): Record<Build, Ckpt> {
  return {new: b.ckpt, base: ckpt(ckptEnv(), b.options.timeoutMs, b.options.baselineCli)}
}

/** One operation for both builds: two sides, new and base. */
function pair(id: string, label: string, make: (build: Build, cli: Ckpt) => Omit<Side, 'id' | 'label'>, b: BenchContext): Side[] {
  const c = clis(b)
  return BUILDS.map((build) => ({id: `${id}-${build}`, label: `${label} [${build}]`, ...make(build, c[build])}))
}

/** new/base of the medians, judged against MAX_RATIO; CPU time (less sensitive to other load) beside it. */
function ratioOf(m: Record<string, Measurement>, id: string, label: string): TargetResult {
  const [n, base] = [m[`${id}-new`], m[`${id}-base`]]
  const ratio = (a: number | null | undefined, b: number | null | undefined) => (a == null || !b ? null : Math.round((a / b) * 100) / 100)
  const value = ratio(n.medianMs, base.medianMs)
  const cpu = ratio(n.cpuS, base.cpuS)
  const cpuText = cpu === null ? '' : `; CPU ${cpu}× (${n.cpuS} vs ${base.cpuS} s)`
  return atMostTarget(`${label}: new vs base`, `≤ ${MAX_RATIO}× base`, value, MAX_RATIO, `${value}× (${n.medianMs} vs ${base.medianMs} ms)${cpuText}`)
}

const method = (b: BenchContext, what: string) =>
  `${what} This build ("new", ${b.options.cli}) and the baseline ("base", ${b.options.baselineCli}) run in turn, the first of them alternating every round; ratios are new/base of the medians (more than ${MAX_RATIO}× is a regression).`

export async function baselineStartupCase(b: BenchContext): Promise<Omit<CaseResult, 'durationMs'>> {
  const dir = path.join(b.work, 'baseline-startup')
  await mkdir(path.join(dir, 'primary'), {recursive: true})
  const job = await writeJobFile(path.join(dir, 'file.json'), {job: 'startup', primary: path.join(dir, 'primary'), localRoot: path.join(dir, 'local'), stateDir: path.join(dir, 'state')})
  const list = ['checkpoint', 'list', '-j', job, '--json']
  const sides: Side[] = [
    {id: 'node', label: 'node -e 0', command: 'node -e 0', run: () => runCommand([process.execPath, '-e', '0'])},
    ...pair('version', 'ckpt --version', (_, cli) => ({command: cli.display(['--version']), run: () => cli.run(['--version'])}), b),
    ...pair('list', 'ckpt checkpoint list --json (empty file store)', (_, cli) => ({command: cli.display(list), run: () => cli.run(list)}), b),
  ]
  const m = await interleave(sides, b.options.startupRuns, b.log, {alternate: true})
  return {
    id: 'startup',
    title: 'Start-up: this build vs the baseline',
    method: method(b, `${b.options.startupRuns} rounds of node -e 0, ckpt --version and ckpt checkpoint list --json on an empty store; each is a fresh process.`),
    measurements: Object.values(m),
    targets: [ratioOf(m, 'version', 'start-up: ckpt --version'), ratioOf(m, 'list', 'start-up: ckpt checkpoint list --json')],
    notes: [`node -e 0: ${m.node.medianMs} ms (the floor of any Node CLI on this machine).`],
  }
}

/** A job per build (its own primary and local root), so that neither reads what the other wrote. */
async function jobs(b: BenchContext, name: string, stateDir: string, restored: (build: Build) => string) {
  const dir = path.join(b.work, `baseline-${name}`)
  const stores = (build: Build) => ({job: name.replace(/-/g, ''), primary: path.join(dir, build, 'primary'), localRoot: path.join(dir, build, 'local')})
  const out = {} as Record<Build, {take: string; restore: string; empty: () => Promise<void>}>
  for (const build of BUILDS) {
    const s = stores(build)
    out[build] = {
      take: await writeJobFile(path.join(dir, build, 'take.json'), {...s, stateDir}),
      restore: await writeJobFile(path.join(dir, build, 'restore.json'), {...s, stateDir: restored(build)}),
      empty: async () => {
        await rm(s.primary, {recursive: true, force: true})
        await rm(s.localRoot, {recursive: true, force: true})
      },
    }
  }
  return out
}

/** Restores of one checkpoint per build (taken untimed by that build), into an absent stateDir. */
function restoreSides(
  b: BenchContext,
  id: string,
  label: string,
  extra: string[],
  expect: string,
  j: Awaited<ReturnType<typeof jobs>>,
  target: (build: Build) => string,
  want: {files: number; bytes: number},
): Side[] {
  return pair(
    id,
    label,
    (build, cli) => {
      const args = ['restore', ...extra, '-j', j[build].restore, '--json']
      let source = ''
      return {
        command: cli.display(args),
        bytes: b.options.size,
        prepare: () => rm(path.dirname(target(build)), {recursive: true, force: true}),
        run: async () => {
          const r = await cli.run(args)
          source = r.json?.tasks?.[0]?.source
          return r
        },
        check: async () => {
          if (source !== expect) throw new Error(`${label} [${build}] used source ${source}, expected ${expect}`)
          await expectTree(target(build), want, `${label} [${build}]`)
        },
      }
    },
    b,
  )
}

async function takeOnce(b: BenchContext, j: Awaited<ReturnType<typeof jobs>>): Promise<void> {
  const c = clis(b)
  for (const build of BUILDS) {
    await j[build].empty()
    const r = await c[build].run(['checkpoint', 'take', '-j', j[build].take, '--json'])
    if (r.json?.status !== 'completed') throw new Error(`the ${build} build's take failed: ${r.stderr}`)
  }
}

export async function baselineFileStoreCase(b: BenchContext): Promise<Omit<CaseResult, 'durationMs'>> {
  const data = await b.dataset('main', {files: b.options.files, bytes: b.options.size, seed: 'main'})
  const want = {files: data.files, bytes: data.bytes}
  const target = (build: Build) => path.join(b.work, 'baseline-file-store', build, 'restored', 't0')
  const j = await jobs(b, 'file-store', data.dir, target)
  const takes = pair(
    'take',
    'ckpt checkpoint take',
    (build, cli) => ({
      command: cli.display(['checkpoint', 'take', '-j', j[build].take, '--json']),
      bytes: b.options.size,
      prepare: j[build].empty,
      run: () => cli.run(['checkpoint', 'take', '-j', j[build].take, '--json']),
    }),
    b,
  )
  b.log(' takes')
  const t = await interleave(takes, b.options.pairs, b.log, {alternate: true})
  await takeOnce(b, j)
  b.log(' restores')
  const r = await interleave(restoreSides(b, 'restore-remote', 'ckpt restore --prefer remote', ['--prefer', 'remote'], 'remote', j, target, want), b.options.pairs, b.log, {alternate: true})
  for (const build of BUILDS) await j[build].empty()
  return {
    id: 'file-store',
    title: `Take and restore on the file store (${formatSize(b.options.size)}, ${b.options.files} files): this build vs the baseline`,
    method: method(
      b,
      `${b.options.pairs} rounds of ckpt checkpoint take into an empty store, then of ckpt restore --prefer remote of one checkpoint (taken untimed by the same build) into an absent stateDir.`,
    ),
    measurements: [...Object.values(t), ...Object.values(r)],
    targets: [ratioOf(t, 'take', 'file-store take'), ratioOf(r, 'restore-remote', 'file-store restore from the primary')],
    notes: [],
  }
}

export async function baselineLocalCase(b: BenchContext): Promise<Omit<CaseResult, 'durationMs'>> {
  const data = await b.dataset('main', {files: b.options.files, bytes: b.options.size, seed: 'main'})
  const want = {files: data.files, bytes: data.bytes}
  const target = (build: Build) => path.join(b.work, 'baseline-local', build, 'restored', 't0')
  const j = await jobs(b, 'local', data.dir, target)
  await takeOnce(b, j)
  const r = await interleave(restoreSides(b, 'restore-local', 'ckpt restore (local first)', [], 'local', j, target, want), b.options.pairs, b.log, {alternate: true})
  for (const build of BUILDS) await j[build].empty()
  return {
    id: 'local',
    title: `Local restore of a ${formatSize(b.options.size)}, ${b.options.files}-file task state: this build vs the baseline`,
    method: method(b, `${b.options.pairs} rounds of ckpt restore (local first) of one checkpoint (taken untimed by the same build) into an absent stateDir.`),
    measurements: Object.values(r),
    targets: [ratioOf(r, 'restore-local', 'local restore')],
    notes: [],
  }
}
