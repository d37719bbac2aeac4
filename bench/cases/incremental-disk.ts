// Format 2: what a chain of takes costs on disk. 20 takes of a state with 1% of its files rewritten
// before each; then the primary after prune (retain 3, grace 0) and the local root (retain.local 3).
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {NODE_NAME} from '../lib/ckpt.js'
import {rewriteFiles, type Change} from '../lib/data.js'
import {syncDisks, type RunResult} from '../lib/exec.js'
import {summarize} from '../lib/measure.js'
import {atMostTarget, type BenchContext, type CaseResult, type TargetResult} from '../lib/model.js'
import {formatSize} from '../lib/report.js'
import {round} from '../lib/stats.js'
import {duBytes, incrJob, onePercent, rssTargets, takeArgs, uploaded} from './incremental-lib.js'

const RETAIN = 3

export async function incrChainCase(b: BenchContext): Promise<Omit<CaseResult, 'durationMs'>> {
  const {incrSize: size, incrFiles: files, incrTakes: takes} = b.options
  const data = await b.dataset('incr', {files, bytes: size, seed: 'incr'})
  const dir = path.join(b.work, 'incr-chain')
  const job = await incrJob(dir, 'chain', {stateDir: data.dir, retainLocal: RETAIN})
  const count = onePercent(files)
  const runs: RunResult[] = []
  const changes: Change[] = []
  let uploadedTotal = 0
  for (let i = 0; i < takes; i++) {
    if (i > 0) changes.push(await rewriteFiles(data, count, 100 + i))
    await syncDisks()
    const r = await b.ckpt.run(takeArgs(job.file))
    uploadedTotal += uploaded(r.json)
    runs.push(r)
    b.log(`  take ${i + 1}/${takes}: ${(r.ms / 1000).toFixed(2)} s${r.maxRssKiB ? `, ${(r.maxRssKiB / 1024).toFixed(0)} MiB RSS` : ''}`)
  }
  const state = await duBytes([data.dir])
  const beforePrune = await duBytes([job.primary])
  const pruneArgs = ['checkpoint', 'prune', '-j', job.file, '--retain', String(RETAIN), '--grace', '0', '--json']
  // A prune that fails is reported, not fatal: the local root's figure does not need it.
  const prune = await b.ckpt.run(pruneArgs).catch((error: Error) => ({error}) as const)
  const pruneError = 'error' in prune ? prune.error.message : undefined
  const primary = await duBytes([job.primary])
  const local = await duBytes([job.localRoot])
  const copies = await fs.readdir(path.join(job.localRoot, NODE_NAME, job.job, 't0')).then(
    (l) => l.filter((n) => n.startsWith('chk-')),
    () => [] as string[],
  )
  // The copies after the oldest kept one each add their change.
  const newer = Math.max(0, Math.min(copies.length, RETAIN) - 1)
  const kept = newer === 0 ? 0 : changes.slice(-newer).reduce((s, c) => s + c.bytes, 0)
  await fs.rm(dir, {recursive: true, force: true})

  const take = (id: string, label: string, list: RunResult[]) =>
    summarize(
      {id, label, command: b.ckpt.display(takeArgs(job.file))},
      list.map((r) => r.ms),
      list.flatMap((r) => r.maxRssKiB ?? []),
      list.flatMap((r) => r.cpuMs ?? []),
    )
  const measurements = [
    take('first-take', 'ckpt checkpoint take, first (full)', runs.slice(0, 1)),
    ...(runs.length > 1 ? [take('chain-takes', `ckpt checkpoint take, each after ${count} of ${files} files rewritten (${runs.length - 1} takes)`, runs.slice(1))] : []),
    ...('error' in prune
      ? []
      : [
          summarize(
            {id: 'prune', label: `ckpt checkpoint prune --retain ${RETAIN} --grace 0`, command: b.ckpt.display(pruneArgs)},
            [prune.ms],
            prune.maxRssKiB ? [prune.maxRssKiB] : [],
            prune.cpuMs !== undefined ? [prune.cpuMs] : [],
          ),
        ]),
  ]
  const primaryRatio = round(primary / state, 3)
  const localRatio = round((local - kept) / state, 3)
  const primaryName = `primary after ${takes} takes + prune / state`
  const primaryTarget: TargetResult = pruneError
    ? {
        name: primaryName,
        target: '≤ 1.3× the state',
        value: null,
        measured: `not measured: ${pruneError} (before prune: ${round(beforePrune / state, 3)}×)`,
        met: null,
        notJudged: `checkpoint prune failed`,
      }
    : atMostTarget(primaryName, '≤ 1.3× the state', primaryRatio, 1.3, `${primaryRatio}× (${primary} bytes after prune, ${beforePrune} before; state ${state})`)
  return {
    id: 'incr-chain',
    title: `Disk after ${takes} takes of ${formatSize(size)} in ${files} files, 1% rewritten before each (format 2)`,
    method: `One job (retain.primary ${RETAIN}, retain.local ${RETAIN}): a first take, then ${takes - 1} rounds of ${count} files rewritten and a take; then ckpt checkpoint prune --retain ${RETAIN} --grace 0. Sizes are du -sb (apparent bytes; each hard-linked inode counted once) of the primary, of the local root and of the state.`,
    measurements,
    targets: [
      primaryTarget,
      atMostTarget(
        `local root after ${takes} takes, retain.local ${RETAIN} / state`,
        '≤ 1.1× the state, plus the changes',
        localRatio,
        1.1,
        `${localRatio}× once the kept copies' changes (${kept} bytes) are taken out (${local} bytes, ${copies.length} copies; state ${state})`,
      ),
      ...rssTargets(measurements),
    ],
    notes: [
      `The ${takes} takes uploaded ${uploadedTotal} bytes in all (${round(uploadedTotal / state, 3)}× the state); the changes were ${changes.reduce((s, c) => s + c.bytes, 0)} bytes.`,
      'error' in prune ? `Prune failed: ${pruneError}` : `Prune: ${JSON.stringify({removed: prune.json?.removed?.length, kept: prune.json?.kept, objects: prune.json?.objects})}.`,
    ],
  }
}
