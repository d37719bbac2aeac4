// Runs the selected cases and writes the results. bench/run.ts is the command line around it;
// the smoke test calls it directly with tiny sizes.
import * as fs from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import {azureRestoreCase, azureTakeCase} from '../cases/azure.js'
import {BASELINE_CASES, baselineCli, baselineFileStoreCase, baselineLocalCase, baselineStartupCase} from '../cases/baseline.js'
import {azureTransferCase} from '../cases/azure-transfer.js'
import {fileStoreCase} from '../cases/file-store.js'
import {growthCheckpointsCase, growthFilesCase} from '../cases/growth.js'
import {incrFileCase, incrTakeCase, incrUnchangedCase} from '../cases/incremental.js'
import {incrChainCase} from '../cases/incremental-disk.js'
import {incrPauseCase, incrRestoreCase} from '../cases/incremental-restore.js'
import {azureMnRecoveryCase, mnCheckpointCase, mnRecoveryCase} from '../cases/many-nodes.js'
import {localCase} from '../cases/local.js'
import {memoryCase} from '../cases/memory.js'
import {startupCase} from '../cases/startup.js'
import {startAzurite, type Azurite} from './azurite.js'
import {CKPT_BIN, ckpt, ckptEnv} from './ckpt.js'
import {makeTree, type TreeInfo, type TreeSpec} from './data.js'
import {runCommand} from './exec.js'
import {machineInfo, versions} from './machine.js'
import type {BenchContext, CaseResult} from './model.js'
import {CASES, OPT_IN_CASES, repoRoot, type BenchOptions, type CaseName} from './options.js'
import {parseProfile} from './netem-proxy.js'
import {ensurePeers} from './peers.js'
import {formatSize, writeResults, type BenchResults} from './report.js'

type CaseFn = (b: BenchContext) => Promise<Omit<CaseResult, 'durationMs'>>

// growth-files runs before memory, which reuses its largest runs.
const RUNNERS: Record<CaseName, CaseFn> = {
  startup: startupCase,
  local: localCase,
  'file-store': fileStoreCase,
  'azure-restore': azureRestoreCase,
  'azure-take': azureTakeCase,
  'azure-transfer': azureTransferCase,
  'growth-files': growthFilesCase,
  memory: memoryCase,
  'growth-checkpoints': growthCheckpointsCase,
  'incr-take': incrTakeCase,
  'incr-file': incrFileCase,
  'incr-chain': incrChainCase,
  'incr-restore': incrRestoreCase,
  'incr-unchanged': incrUnchangedCase,
  'incr-pause': incrPauseCase,
  'mn-recovery': mnRecoveryCase,
  'mn-checkpoint': mnCheckpointCase,
  'azure-mn-recovery': azureMnRecoveryCase,
}

/** Under --baseline: the cases that compare two builds. */
const BASELINE_RUNNERS: Partial<Record<CaseName, CaseFn>> = {startup: baselineStartupCase, 'file-store': baselineFileStoreCase, local: baselineLocalCase}

/** Rough scratch space the selected cases need at their peak, in bytes. */
export function scratchNeeded(o: BenchOptions): number {
  const has = (c: CaseName) => o.cases.includes(c)
  // Both builds: the data, and per build a primary tar, a secondary copy and a restored tree.
  if (o.baseline) return has('local') || has('file-store') ? 7 * o.size : 0
  let main = 0
  if (has('local') || has('file-store')) main = 5 * o.size // data, primary tar, secondary copy, restored tree, peer copy / repo
  if (has('azure-transfer')) main = Math.max(main, 4 * o.azureSize) // the object, its uploads and Azurite's unreclaimed copies
  if (has('azure-restore') || has('azure-take')) main = Math.max(main, o.size) + 6 * o.azureSize // Azurite keeps deleted blobs until its GC
  const memory = has('memory') ? 4 * o.memorySize : 0
  const growth = has('growth-files') ? 4 * Math.max(...o.growthFiles) * Math.max(o.growthFileSize, 4096) : 0
  // Format 2: the shared 1% data set, then per case at most two primaries and local roots and a restic repository of it, or of the big file.
  const incr = o.cases.some((c) => c.startsWith('incr-')) ? o.incrSize + Math.max(5 * o.incrSize, has('incr-file') ? 4 * o.incrFileSize : 0, 8 * 4096 * o.incrManyFiles) : 0
  // Many nodes: the 8 data sets, per job 8 stateDirs, a primary and local copies (two jobs side by side).
  const mn = o.cases.some((c) => c.includes('mn-')) ? 8 * o.mnSize * 7 : 0
  return main + Math.max(memory, growth, incr, mn)
}

export async function runBench(options: BenchOptions, log: (line: string) => void = () => {}): Promise<BenchResults> {
  const started = Date.now()
  await fs.mkdir(options.workParent, {recursive: true})
  const work = await fs.mkdtemp(path.join(options.workParent, 'ckpt-bench-'))
  const free = await fs.statfs(work).then((s) => s.bavail * s.bsize)
  const need = scratchNeeded(options)
  if (free < need) {
    await fs.rm(work, {recursive: true, force: true})
    throw new Error(`the bench needs about ${formatSize(need)} of scratch space in ${options.workParent} and ${formatSize(free)} is free; pass --work DIR or smaller sizes`)
  }
  log(`scratch folder ${work} (${formatSize(free)} free, about ${formatSize(need)} needed)`)
  let azurite: Azurite | undefined
  const results: CaseResult[] = []
  try {
    // The baseline cases compare two ckpt builds and run no peer: install none.
    const peers = await ensurePeers(options.baseline ? 'if-present' : options.peers, log)
    for (const p of Object.values(peers)) if (p.notRun) log(`peer not run: ${p.notRun}`)
    if (options.build && options.cli === CKPT_BIN) {
      log('building the CLI into the scratch folder (bundle + oclif manifest, as npm run build does)')
      options = {...options, cli: await buildPrivateCli(path.join(work, 'cli'))}
    }
    if (options.baseline) {
      options = {...options, baselineCli: await baselineCli(options.baseline)}
      for (const c of options.cases.filter((c) => !BASELINE_CASES.includes(c))) log(`case ${c} is not run with --baseline (it compares ${BASELINE_CASES.join(', ')})`)
    }
    const datasets = new Map<string, Promise<TreeInfo>>()
    const b: BenchContext = {
      options,
      work,
      log,
      peers,
      ckpt: ckpt(ckptEnv(), options.timeoutMs, options.cli),
      shared: new Map(),
      dataset(name: string, spec: TreeSpec) {
        const key = `${name}-${spec.files}-${spec.bytes}-${spec.seed}`
        if (!datasets.has(key)) {
          log(` making data set ${key} (${formatSize(spec.bytes)} in ${spec.files} files)`)
          datasets.set(key, makeTree(path.join(work, 'data', key), spec))
        }
        return datasets.get(key)!
      },
      async azurite() {
        azurite ??= await startAzurite()
        return azurite
      },
    }
    for (const name of [...CASES, ...OPT_IN_CASES]) {
      if (!options.cases.includes(name)) continue
      const runner = options.baseline ? BASELINE_RUNNERS[name] : RUNNERS[name]
      if (!runner) continue
      // The Azurite cases run once per link; the others do not use one.
      for (const network of name.startsWith('azure-') ? options.networks : [undefined]) {
        log(`case ${name}${network ? ` (network ${network})` : ''}`)
        const caseStarted = Date.now()
        const loadBefore = Math.round(os.loadavg()[0] * 100) / 100
        const load = (): [number, number] => [loadBefore, Math.round(os.loadavg()[0] * 100) / 100]
        const context: BenchContext = network ? {...b, network: parseProfile(network)} : b
        try {
          const result = await runner(context)
          results.push({...result, durationMs: Date.now() - caseStarted, loadAverage: load()})
        } catch (error) {
          log(`case ${name} failed: ${(error as Error).stack ?? error}`)
          results.push({
            id: name,
            title: network ? `${name} (network ${network})` : name,
            network,
            method: '',
            measurements: [],
            targets: [],
            notes: [],
            durationMs: Date.now() - caseStarted,
            loadAverage: load(),
            error: (error as Error).message,
          })
        }
        for (const t of results[results.length - 1].targets)
          log(`  target ${t.name}${t.network ? ` [${t.network}]` : ''}: ${t.measured} (${t.target}) → ${t.met === null ? `not judged (${t.notJudged})` : t.met ? 'met' : 'MISSED'}`)
      }
    }
    const out: BenchResults = {
      generatedAt: new Date().toISOString(),
      durationMs: Date.now() - started,
      command: commandLine(),
      machine: await machineInfo(options.workParent),
      versions: await versions(peers),
      options,
      cases: results,
    }
    await writeResults(options.outDir, out)
    return out
  } finally {
    await azurite?.stop().catch(() => {})
    if (!options.keep) await fs.rm(work, {recursive: true, force: true}).catch(() => {})
    else log(`kept ${work}`)
  }
}

/**
 * Builds the working tree's CLI into its own folder, as `npm run build` does (the bundle, then
 * oclif manifest), so that a build or test run elsewhere in the repository cannot swap dist/ out
 * from under the bench, and the bench does not disturb them.
 */
async function buildPrivateCli(dir: string): Promise<string> {
  await fs.mkdir(dir, {recursive: true})
  await fs.cp(path.join(repoRoot, 'bin'), path.join(dir, 'bin'), {recursive: true})
  await fs.copyFile(path.join(repoRoot, 'package.json'), path.join(dir, 'package.json'))
  await fs.symlink(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'))
  const bin = (name: string) => path.join(repoRoot, 'node_modules', '.bin', name)
  await runCommand([process.execPath, path.join(repoRoot, 'scripts', 'bundle.mjs'), path.join(dir, 'dist')], {cwd: repoRoot, rss: false, timeoutMs: 10 * 60_000})
  await runCommand([bin('oclif'), 'manifest'], {cwd: dir, rss: false, timeoutMs: 5 * 60_000})
  return path.join(dir, 'bin', 'run.js')
}

function commandLine(): string {
  const args = process.argv.slice(2)
  return process.argv[1]?.endsWith(path.join('bench', 'run.ts')) ? ['npm run bench', ...(args.length ? ['--', ...args] : [])].join(' ') : 'runBench() (smoke test)'
}
