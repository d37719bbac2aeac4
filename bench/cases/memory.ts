// Peak memory: taking and restoring a single big file, and many small files (≤ 200 MiB RSS).
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {expectTree, writeJobFile} from '../lib/ckpt.js'
import {makeTree} from '../lib/data.js'
import {interleave, type Measurement} from '../lib/measure.js'
import {atMostTarget, type BenchContext, type CaseResult, type TargetResult} from '../lib/model.js'
import {formatSize} from '../lib/report.js'
import {measureFiles} from './growth.js'

const LIMIT_MIB = 200

export async function memoryCase(b: BenchContext): Promise<Omit<CaseResult, 'durationMs'>> {
  const size = b.options.memorySize
  const dir = path.join(b.work, 'memory')
  const data = await makeTree(path.join(dir, 'data'), {files: 1, bytes: size, seed: 'big'})
  const job = {job: 'memory', primary: path.join(dir, 'primary'), localRoot: path.join(dir, 'local')}
  const takeJob = await writeJobFile(path.join(dir, 'take.json'), {...job, stateDir: data.dir})
  const target = path.join(dir, 'restored', 't0')
  const restoreJob = await writeJobFile(path.join(dir, 'restore.json'), {...job, stateDir: target})
  const clear = () => fs.rm(path.dirname(target), {recursive: true, force: true})
  const want = {files: 1, bytes: size}
  // One run each: peak RSS does not need a median, and each run moves the whole state.
  const big = await interleave(
    [
      {
        id: 'take',
        label: `take, one ${formatSize(size)} file`,
        command: b.ckpt.display(['checkpoint', 'take', '-j', takeJob, '--json']),
        bytes: size,
        run: () => b.ckpt.run(['checkpoint', 'take', '-j', takeJob, '--json']),
      },
      {
        id: 'restore-local',
        label: `restore (local first), one ${formatSize(size)} file`,
        command: b.ckpt.display(['restore', '-j', restoreJob, '--json']),
        bytes: size,
        prepare: clear,
        run: () => b.ckpt.run(['restore', '-j', restoreJob, '--json']),
        check: () => expectTree(target, want, 'restore'),
      },
      {
        id: 'restore-remote',
        label: `restore --prefer remote, one ${formatSize(size)} file`,
        command: b.ckpt.display(['restore', '--prefer', 'remote', '-j', restoreJob, '--json']),
        bytes: size,
        prepare: clear,
        run: () => b.ckpt.run(['restore', '--prefer', 'remote', '-j', restoreJob, '--json']),
        check: () => expectTree(target, want, 'restore --prefer remote'),
      },
    ],
    1,
    b.log,
  )
  await fs.rm(dir, {recursive: true, force: true})

  const many = Math.max(...b.options.growthFiles)
  let small = b.shared.get(`files-${many}`) as Record<string, Measurement> | undefined
  const notes: string[] = []
  if (small) notes.push(`The ${many}-file figures are the peak over the growth case's runs at that size.`)
  else small = (await measureFiles(b, many, 1)).m
  const rss = (m: Measurement) => m.maxRssMiB ?? null
  const t = (name: string, m: Measurement): TargetResult => atMostTarget(name, `≤ ${LIMIT_MIB} MiB RSS`, rss(m), LIMIT_MIB, `${rss(m)} MiB`)
  notes.push("Peak RSS is the process's maximum resident set (getrusage via /usr/bin/time, else VmHWM from /proc), of the ckpt process running the command.")
  return {
    id: 'memory',
    title: `Peak memory: one ${formatSize(size)} file, and ${many} small files`,
    method: `File store. One take, one local-first restore and one restore --prefer remote of a single ${formatSize(size)} file; take and restore of ${many} files of ${formatSize(b.options.growthFileSize)}.`,
    measurements: [...Object.values(big), ...['take', 'restore'].map((k) => ({...small![k], id: `${k}-${many}-files`}))],
    targets: [
      t(`take, one ${formatSize(size)} file`, big.take),
      t(`restore (local), one ${formatSize(size)} file`, big['restore-local']),
      t(`restore (primary), one ${formatSize(size)} file`, big['restore-remote']),
      t(`take, ${many} files`, small.take),
      t(`restore, ${many} files`, small.restore),
    ],
    notes,
  }
}
