// Growth: take / restore / list time as a task's files go 1k → 100k, and as the store's
// checkpoints go 10 → 1,000. Slopes by least squares; "linear or better" judged on the exponent of
// the growth above the smallest point (see judge()).
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {expectTree, writeJobFile} from '../lib/ckpt.js'
import {makeTree} from '../lib/data.js'
import {interleave, type Measurement, type Side} from '../lib/measure.js'
import {atMostTarget, type BenchContext, type CaseResult, type GrowthPoint, type GrowthSeries, type TargetResult} from '../lib/model.js'
import {formatSize} from '../lib/report.js'
import {fitLinear, round} from '../lib/stats.js'
import {formatCheckpointId as checkpointId} from '../../src/core/format/ids.js'
import {keys} from '../../src/core/format/keys.js'

/** Beyond this marginal exponent, growth counts as worse than linear. */
const LINEAR_LIMIT = 1.15

export interface FilesPoint {
  files: number
  m: Record<string, Measurement>
}

/** Take, restore (local first) and list of one task of `files` small files on the file store. */
export async function measureFiles(b: BenchContext, files: number, runs: number): Promise<FilesPoint> {
  const dir = path.join(b.work, `growth-files-${files}`)
  const data = await makeTree(path.join(dir, 'data'), {files, bytes: files * b.options.growthFileSize, seed: `small-${files}`})
  const job = {job: 'growth', primary: path.join(dir, 'primary'), localRoot: path.join(dir, 'local')}
  const takeJob = await writeJobFile(path.join(dir, 'take.json'), {...job, stateDir: data.dir})
  const target = path.join(dir, 'restored', 't0')
  const restoreJob = await writeJobFile(path.join(dir, 'restore.json'), {...job, stateDir: target})
  const emptyStores = async () => {
    await fs.rm(job.primary, {recursive: true, force: true})
    await fs.rm(job.localRoot, {recursive: true, force: true})
  }
  const clearTarget = () => fs.rm(path.dirname(target), {recursive: true, force: true})
  const sides: Side[] = [
    {
      id: 'take',
      label: `take, ${files} files`,
      command: b.ckpt.display(['checkpoint', 'take', '-j', takeJob, '--json']),
      prepare: emptyStores,
      run: () => b.ckpt.run(['checkpoint', 'take', '-j', takeJob, '--json']),
    },
    {
      id: 'restore',
      label: `restore (local first), ${files} files`,
      command: b.ckpt.display(['restore', '-j', restoreJob, '--json']),
      prepare: clearTarget,
      run: () => b.ckpt.run(['restore', '-j', restoreJob, '--json']),
      check: () => expectTree(target, {files, bytes: data.bytes}, 'restore'),
    },
    {
      id: 'list',
      label: `checkpoint list, ${files} files`,
      command: b.ckpt.display(['checkpoint', 'list', '-j', restoreJob, '--json']),
      run: () => b.ckpt.run(['checkpoint', 'list', '-j', restoreJob, '--json']),
    },
  ]
  b.log(` ${files} files`)
  const m = await interleave(sides, runs, b.log)
  await fs.rm(dir, {recursive: true, force: true})
  return {files, m}
}

/**
 * "Linear or better": the growth above the smallest point, between the two largest points, has an
 * exponent ≤ 1.15; or, where that growth is too small to measure (within 5% or within the samples'
 * spread, see fitLinear), the exponent over the whole span is.
 */
function judge(series: GrowthSeries, what: string, ops: string[]): TargetResult[] {
  return ops.map((op) => {
    const fit = series.fits[op]
    const pts = series.points
    const [t0, tz] = [pts[0].medians[op], pts[pts.length - 1].medians[op]]
    const slope = `${(fit.slope * 1000).toFixed(1)} ms per 1,000 ${series.axis}`
    const span = `${pts[0].x} → ${pts[pts.length - 1].x} ${series.axis}: ${Math.round(t0)} → ${Math.round(tz)} ms`
    if (Number.isFinite(fit.marginalExponent)) {
      const e = round(fit.marginalExponent)
      return atMostTarget(`growth: ${op} as ${what}`, 'linear or better', e, LINEAR_LIMIT, `${slope}; marginal exponent ${e} (1 = linear; ${span})`)
    }
    // Where the middle point hides the marginal growth, judge the whole span: time growing no
    // faster than size (exponent ≤ the linear limit) is linear or better.
    const overall = round(Math.log(Math.max(tz, 1) / Math.max(t0, 1)) / Math.log(pts[pts.length - 1].x / pts[0].x))
    return atMostTarget(`growth: ${op} as ${what}`, 'linear or better', overall, LINEAR_LIMIT, `${slope}; overall exponent ${overall} (${span})`)
  })
}

const spreadsOf = (m: Record<string, Measurement>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, (v.maxMs ?? 0) - (v.minMs ?? 0)]))

function seriesOf(axis: string, points: GrowthPoint[], ops: string[]): GrowthSeries {
  const fits = Object.fromEntries(
    ops.map((op) => [
      op,
      fitLinear(
        points.map((p) => p.x),
        points.map((p) => p.medians[op]),
        points.map((p) => p.spreads?.[op] ?? 0),
      ),
    ]),
  )
  return {axis, points, fits}
}

/** Sizes from LARGE files up run once: at 100k files one round of take + restore is a minute or more. */
const LARGE = 50_000
const runsFor = (b: BenchContext, files: number) => (files >= LARGE ? 1 : b.options.growthRuns)

export async function growthFilesCase(b: BenchContext): Promise<Omit<CaseResult, 'durationMs'>> {
  const points: GrowthPoint[] = []
  const measurements: Measurement[] = []
  for (const files of b.options.growthFiles) {
    const {m} = await measureFiles(b, files, runsFor(b, files))
    points.push({
      x: files,
      medians: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.medianMs!])),
      spreads: spreadsOf(m),
      maxRssMiB: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.maxRssMiB ?? 0])),
    })
    measurements.push(...Object.values(m).map((v) => ({...v, id: `${v.id}-${files}`})))
    b.shared.set(`files-${files}`, m)
  }
  const ops = ['take', 'restore', 'list']
  const series = seriesOf('files', points, ops)
  return {
    id: 'growth-files',
    title: `Growth with the number of files (${b.options.growthFiles.join(' → ')} files of ${formatSize(b.options.growthFileSize)})`,
    method: `For each size: ${b.options.growthRuns} rounds (1 from ${LARGE.toLocaleString('en')} files up) of take into an empty file store, restore (local first) into an absent folder, and checkpoint list, through the CLI.`,
    measurements,
    targets: judge(series, 'files grow', ['take', 'restore']),
    series,
    notes: ['checkpoint list reads manifests only, so its time does not depend on the number of files; it is shown, not judged.'],
  }
}

/**
 * Adds completed checkpoints chk-(from+1)..chk-to by copying the objects of chk-1 under new ids,
 * in the on-store format of docs/FORMAT.md (file store: keys are paths below its folder).
 * Taking them one by one costs O(n) per take (each take lists the job's keys), so O(n²) in all.
 */
async function cloneCheckpoints(primary: string, job: string, from: number, to: number): Promise<void> {
  const at = (key: string) => path.join(primary, ...key.split('/'))
  const first = checkpointId(1)
  const manifest = JSON.parse(await fs.readFile(at(keys.manifest(job, first)), 'utf8'))
  const claim = JSON.parse(await fs.readFile(at(keys.claim(job, first)), 'utf8'))
  for (let n = from + 1; n <= to; n++) {
    const id = checkpointId(n)
    await fs.mkdir(path.dirname(at(keys.archive(job, id, 't0'))), {recursive: true})
    for (const task of manifest.tasks) {
      await fs.copyFile(at(keys.archive(job, first, task.taskId)), at(keys.archive(job, id, task.taskId)))
      await fs.copyFile(at(keys.index(job, first, task.taskId)), at(keys.index(job, id, task.taskId)))
    }
    await fs.writeFile(at(keys.claim(job, id)), JSON.stringify({...claim, checkpointId: id}))
    const tasks = manifest.tasks.map((t: any) => ({...t, archive: keys.archive(job, id, t.taskId), index: keys.index(job, id, t.taskId)}))
    await fs.writeFile(at(keys.manifest(job, id)), JSON.stringify({...manifest, checkpointId: id, tasks}, null, 1))
  }
}

export async function growthCheckpointsCase(b: BenchContext): Promise<Omit<CaseResult, 'durationMs'>> {
  const dir = path.join(b.work, 'growth-checkpoints')
  const stateDir = path.join(dir, 'state')
  await fs.mkdir(stateDir, {recursive: true})
  await fs.writeFile(path.join(stateDir, 'counter'), '0')
  // Format 1: the checkpoints are cloned object by object (cloneCheckpoints), each with a tar of its own.
  const job = {job: 'many', primary: path.join(dir, 'primary'), localRoot: path.join(dir, 'local'), format: 1 as const}
  const jobFile = await writeJobFile(path.join(dir, 'job.json'), {...job, stateDir})
  const target = path.join(dir, 'restored', 't0')
  const restoreJob = await writeJobFile(path.join(dir, 'restore.json'), {...job, stateDir: target})
  const first = await b.ckpt.run(['checkpoint', 'take', '-j', jobFile, '--json'])
  if (first.json?.checkpointId !== 'chk-1') throw new Error(`the first take made ${first.json?.checkpointId}, expected chk-1`)
  let made = 1
  const points: GrowthPoint[] = []
  const measurements: Measurement[] = []
  let fillMs = 0
  try {
    for (const count of b.options.growthCheckpoints) {
      const started = Date.now()
      // Every timed take below adds one, so the counts drift up by growthRuns per step.
      await cloneCheckpoints(job.primary, job.job, made, Math.max(made, count))
      made = Math.max(made, count)
      fillMs += Date.now() - started
      b.log(` ${made} checkpoints`)
      const sides: Side[] = [
        {
          id: 'list',
          label: `checkpoint list, ${count} checkpoints`,
          command: b.ckpt.display(['checkpoint', 'list', '-j', jobFile, '--json']),
          run: () => b.ckpt.run(['checkpoint', 'list', '-j', jobFile, '--json']),
        },
        {
          id: 'take',
          label: `take, ${count} checkpoints`,
          command: b.ckpt.display(['checkpoint', 'take', '-j', jobFile, '--json']),
          run: () => b.ckpt.run(['checkpoint', 'take', '-j', jobFile, '--json']),
          cleanup: async () => void made++,
        },
        {
          // Right after a take, so the latest checkpoint has a secondary copy.
          id: 'restore',
          label: `restore (local first), ${count} checkpoints`,
          command: b.ckpt.display(['restore', '-j', restoreJob, '--json']),
          prepare: () => fs.rm(path.dirname(target), {recursive: true, force: true}),
          run: () => b.ckpt.run(['restore', '-j', restoreJob, '--json']),
        },
      ]
      const m = await interleave(sides, b.options.growthRuns, b.log)
      points.push({x: count, medians: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.medianMs!])), spreads: spreadsOf(m)})
      measurements.push(...Object.values(m).map((v) => ({...v, id: `${v.id}-${count}`})))
    }
  } finally {
    await fs.rm(dir, {recursive: true, force: true})
  }
  const ops = ['list', 'take', 'restore']
  const series = seriesOf('checkpoints', points, ops)
  return {
    id: 'growth-checkpoints',
    title: `Growth with the number of checkpoints (${b.options.growthCheckpoints.join(' → ')})`,
    method: `A one-file task on the file store. chk-1 is taken through the CLI; the store is then filled up to each count with copies of chk-1's objects under new ids, written in the documented on-store format (docs/FORMAT.md) — not through ckpt, whose takes cost O(n) each. Then ${b.options.growthRuns} rounds of checkpoint list, take and restore (local first) through the CLI. Every take adds a checkpoint, so counts drift up by a few.`,
    measurements,
    targets: judge(series, 'checkpoints grow', ops),
    series,
    notes: [`Filling the store took ${(fillMs / 1000).toFixed(1)} s in all (${made} checkpoints at the end).`],
  }
}
