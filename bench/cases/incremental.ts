// Format 2 (issue 13, docs/design/format-2.md §15): an incremental take against a full take and
// against restic backup of the same change, the bytes it uploads, one big file with regions
// rewritten in place, and the take of an unchanged 100,000-file state.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {makeTree, relPathOf, rewriteFiles, rewriteRegions, type Change, type TreeInfo} from '../lib/data.js'
import {interleave, type Measurement, type Side} from '../lib/measure.js'
import {atMostTarget, ratioTarget, type BenchContext, type CaseResult, type TargetResult} from '../lib/model.js'
import {formatSize} from '../lib/report.js'
import {median, round} from '../lib/stats.js'
import {changeFeed, duBytes, incrJob, onePercent, resticRepo, rssTargets, storeFiles, takeArgs, uploaded} from './incremental-lib.js'

type Result = Omit<CaseResult, 'durationMs'>

interface Upload {
  changed: number
  uploaded: number
  index: number
  grown: number
}

/** Ratios of what a take wrote to what changed: JSON uploadedBytes and the primary's growth (du -sb), the index taken out of both. */
function uploadTargets(what: string, uploads: Upload[], max: number, limit: string): TargetResult[] {
  const ratio = (pick: (u: Upload) => number) => (uploads.length ? round(median(uploads.map((u) => (pick(u) - u.index) / u.changed)), 3) : null)
  const up = ratio((u) => u.uploaded)
  const grown = ratio((u) => u.grown)
  const last = uploads[uploads.length - 1]
  const said = last ? ` (last run: ${last.uploaded} uploaded, ${last.grown} grown, index ${last.index}, changed ${last.changed} bytes)` : ''
  return [
    atMostTarget(`${what}: uploadedBytes − index / changed bytes`, limit, up, max, `${up}×${said}`),
    atMostTarget(`${what}: primary growth (du -sb) − index / changed bytes`, limit, grown, max, `${grown}×`),
  ]
}

/** A take side that measures what it uploaded: du of the primary before (untimed) and after. */
function measuredTake(b: BenchContext, id: string, label: string, jobFile: string, primary: string, job: string, change: () => Promise<Change>, uploads: Upload[]): Side {
  let before = 0
  let changed = 0
  let json: any
  return {
    id,
    label,
    command: b.ckpt.display(takeArgs(jobFile)),
    prepare: async () => {
      changed = (await change()).bytes
      before = await duBytes([primary])
    },
    run: async () => {
      const r = await b.ckpt.run(takeArgs(jobFile))
      json = r.json
      return r
    },
    cleanup: async () => {
      const files = await storeFiles(primary, job, json.checkpointId)
      uploads.push({changed, uploaded: uploaded(json), index: files.index, grown: (await duBytes([primary])) - before})
    },
  }
}

/** 1 GiB in 1,000 files, 1% of the files rewritten: incremental take vs full take vs restic backup. */
export async function incrTakeCase(b: BenchContext): Promise<Result> {
  const {incrSize: size, incrFiles: files, pairs} = b.options
  const data = await b.dataset('incr', {files, bytes: size, seed: 'incr'})
  const dir = path.join(b.work, 'incr-take')
  const full = await incrJob(dir, 'full', {stateDir: data.dir})
  const incr = await incrJob(dir, 'incr', {stateDir: data.dir})
  const restic = resticRepo(b, path.join(dir, 'restic'))
  const count = onePercent(files)
  const feed = changeFeed((r) => rewriteFiles(data, count, r))
  b.log(' first take and first restic backup (untimed)')
  await b.ckpt.run(takeArgs(incr.file))
  await restic.prime(data.dir)
  const uploads: Upload[] = []
  const sides: Side[] = [
    {
      id: 'full-take',
      label: 'ckpt checkpoint take, full (empty primary)',
      command: b.ckpt.display(takeArgs(full.file)),
      prepare: full.empty,
      run: () => b.ckpt.run(takeArgs(full.file)),
    },
    measuredTake(b, 'incr-take', `ckpt checkpoint take, ${count} of ${files} files rewritten`, incr.file, incr.primary, incr.job, () => feed('incr-take'), uploads),
    {
      id: 'restic-incr',
      label: `restic backup, ${count} of ${files} files rewritten (parent snapshot)`,
      command: 'restic -r REPO backup DATA --quiet --host bench',
      notRun: restic.notRun,
      prepare: async () => void (await feed('restic-incr')),
      run: () => restic.backup(data.dir),
    },
  ]
  const m = await interleave(sides, pairs, b.log, {alternate: true})
  await fs.rm(dir, {recursive: true, force: true})
  const ms = (x: Measurement) => x.medianMs
  return {
    id: 'incr-take',
    title: `Incremental take: ${formatSize(size)} in ${files} files, ${count} rewritten (format 2)`,
    method: `Job files say checkpoint.format 2. An untimed first take and first restic backup; then ${pairs} rounds (order reversed every other round) of: a full take into an emptied primary and local root, an incremental take after ${count} files (1%) were rewritten in place with new random bytes, and restic backup of the same change against its previous snapshot (local repository, cache in the scratch folder). Each side sees exactly one change per run.`,
    measurements: Object.values(m),
    targets: [
      ratioTarget('incremental take vs full take', '≥ 10× faster', m['incr-take'], m['full-take'], 10, (r) => `${r} (${ms(m['incr-take'])} vs ${ms(m['full-take'])} ms)`),
      ratioTarget('incremental take vs restic backup of the same change', '≥ 3× faster', m['incr-take'], m['restic-incr'], 3, (r) => `${r} (${ms(m['incr-take'])} vs ${ms(m['restic-incr'])} ms)`),
      ...uploadTargets('1% of the files rewritten', uploads, 1.05, '≤ 1.05× the changed bytes, plus the index'),
      ...rssTargets(Object.values(m)),
    ],
    notes: [`Uploads per run (bytes): ${uploads.map((u) => `${u.uploaded} uploaded / ${u.grown} grown / ${u.index} index / ${u.changed} changed`).join('; ')}.`],
  }
}

/** One 1 GiB file, ten 1 MiB regions rewritten in place: take vs restic backup, and what the take uploads. */
export async function incrFileCase(b: BenchContext): Promise<Result> {
  const {incrFileSize: size, pairs} = b.options
  const dir = path.join(b.work, 'incr-file')
  const data: TreeInfo = await makeTree(path.join(dir, 'data'), {files: 1, bytes: size, seed: 'incr-file'})
  const file = path.join(data.dir, relPathOf(0))
  const job = await incrJob(dir, 'file', {stateDir: data.dir})
  const restic = resticRepo(b, path.join(dir, 'restic'))
  const regions = 10
  const feed = changeFeed((r) => rewriteRegions(file, regions, 1 << 20, r))
  b.log(' first take and first restic backup (untimed)')
  await b.ckpt.run(takeArgs(job.file))
  await restic.prime(data.dir)
  const uploads: Upload[] = []
  const m = await interleave(
    [
      measuredTake(b, 'take', `ckpt checkpoint take, ${regions} regions of 1 MiB rewritten`, job.file, job.primary, job.job, () => feed('take'), uploads),
      {
        id: 'restic',
        label: `restic backup, ${regions} regions of 1 MiB rewritten (parent snapshot)`,
        command: 'restic -r REPO backup DATA --quiet --host bench',
        notRun: restic.notRun,
        prepare: async () => void (await feed('restic')),
        run: () => restic.backup(data.dir),
      },
    ],
    pairs,
    b.log,
    {alternate: true},
  )
  await fs.rm(dir, {recursive: true, force: true})
  return {
    id: 'incr-file',
    title: `One ${formatSize(size)} file, ${regions} regions of 1 MiB rewritten in place (format 2)`,
    method: `An untimed first take and restic backup of one ${formatSize(size)} file; then ${pairs} rounds of: ${regions} regions of 1 MiB rewritten in place (no truncation) at 4 KiB-aligned offsets spread over the file, so a region usually spans two 1 MiB chunks; a take, and restic backup of the same change.`,
    measurements: Object.values(m),
    targets: [
      ratioTarget('take vs restic backup of the same change', 'faster (> 1.0×)', m.take, m.restic, 1.0001, (r) => `${r} (${m.take.medianMs} vs ${m.restic.medianMs} ms)`),
      ...uploadTargets(`${regions} regions rewritten`, uploads, 3, '≤ 3× the changed bytes'),
      ...rssTargets(Object.values(m)),
    ],
    notes: ['Both read the whole file again (its stamps changed); ckpt uploads the 1 MiB chunks whose digest is new, restic the content-defined chunks that changed.'],
  }
}

/** 100,000 files of 1 KiB, unchanged since the last take: take vs restic backup. */
export async function incrUnchangedCase(b: BenchContext): Promise<Result> {
  const {incrManyFiles: files, pairs} = b.options
  const dir = path.join(b.work, 'incr-unchanged')
  const data = await makeTree(path.join(dir, 'data'), {files, bytes: files * 1024, seed: 'incr-many'})
  const job = await incrJob(dir, 'many', {stateDir: data.dir})
  const restic = resticRepo(b, path.join(dir, 'restic'))
  await restic.init()
  // The first take and backup: timed once, for peak memory and for reference.
  const first = await interleave(
    [
      {id: 'first-take', label: `ckpt checkpoint take, first, ${files} files`, command: b.ckpt.display(takeArgs(job.file)), run: () => b.ckpt.run(takeArgs(job.file))},
      {id: 'restic-first', label: `restic backup, first, ${files} files`, command: 'restic -r REPO backup DATA --quiet --host bench', notRun: restic.notRun, run: () => restic.backup(data.dir)},
    ],
    1,
    b.log,
  )
  const m = await interleave(
    [
      {id: 'take', label: `ckpt checkpoint take, ${files} files unchanged`, command: b.ckpt.display(takeArgs(job.file)), run: () => b.ckpt.run(takeArgs(job.file))},
      {id: 'restic', label: `restic backup, ${files} files unchanged`, command: 'restic -r REPO backup DATA --quiet --host bench', notRun: restic.notRun, run: () => restic.backup(data.dir)},
    ],
    pairs,
    b.log,
    {alternate: true},
  )
  await fs.rm(dir, {recursive: true, force: true})
  const all = [...Object.values(first), ...Object.values(m)]
  return {
    id: 'incr-unchanged',
    title: `Take of an unchanged ${files}-file state (1 KiB each) vs restic backup (format 2)`,
    method: `One timed first take and first restic backup (peak memory, reference), then ${pairs} rounds of a take and a restic backup of the unchanged state.`,
    measurements: all,
    targets: [ratioTarget('unchanged take vs restic backup', 'faster (> 1.0×)', m.take, m.restic, 1.0001, (r) => `${r} (${m.take.medianMs} vs ${m.restic.medianMs} ms)`), ...rssTargets(all)],
    notes: [],
  }
}
