// Format 2: restore after a crash that left 1% of the files different (the rest is reused in place),
// a verified local restore into an empty stateDir, both against cp -a; and the pause of `ckpt run`
// with 1% changed against a full capture.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {NODE_NAME, expectTree} from '../lib/ckpt.js'
import {fileDigests, pickFiles, rewriteFiles} from '../lib/data.js'
import {runCommand} from '../lib/exec.js'
import {interleave, summarize, type Measurement} from '../lib/measure.js'
import {atMostTarget, ratioTarget, type BenchContext, type CaseResult} from '../lib/model.js'
import {formatSize} from '../lib/report.js'
import {round} from '../lib/stats.js'
import {incrJob, onePercent, rssTargets, takeArgs} from './incremental-lib.js'

type Result = Omit<CaseResult, 'durationMs'>

export async function incrRestoreCase(b: BenchContext): Promise<Result> {
  const {incrSize: size, incrFiles: files, pairs} = b.options
  const data = await b.dataset('incr', {files, bytes: size, seed: 'incr'})
  const want = {files: data.files, bytes: data.bytes}
  const dir = path.join(b.work, 'incr-restore')
  const job = await incrJob(dir, 'restore', {stateDir: data.dir})
  const target = path.join(dir, 'restored', 't0')
  const empty = await incrJob(dir, 'restore', {stateDir: target, fileName: 'empty.json'})
  const take = await b.ckpt.run(takeArgs(job.file))
  const copyState = path.join(job.localRoot, NODE_NAME, job.job, 't0', take.json.checkpointId, 'state')
  const cpTarget = path.join(dir, 'cp-target')
  const count = onePercent(files)
  const restoreArgs = (file: string) => ['restore', '-j', file, '--json']
  const seen: Record<string, any[]> = {crash: [], empty: []}
  let crashed = 0
  let digests = new Map<string, string>()
  const m = await interleave(
    [
      {
        id: 'crash-restore',
        label: `ckpt restore (local first) into the stateDir, ${count} of ${files} files different`,
        command: b.ckpt.display(restoreArgs(job.file)),
        bytes: size,
        prepare: async () => {
          // The crash: files of the checkpoint rewritten; remember what the checkpoint holds.
          digests = await fileDigests(pickFiles(data, count, ++crashed))
          await rewriteFiles(data, count, crashed)
        },
        run: async () => {
          const r = await b.ckpt.run(restoreArgs(job.file))
          seen.crash.push(r.json?.tasks?.[0])
          return r
        },
        cleanup: async () => {
          for (const [file, digest] of await fileDigests([...digests.keys()])) if (digest !== digests.get(file)) throw new Error(`crash restore: ${file} does not hold the checkpoint's bytes`)
          await expectTree(data.dir, want, 'crash restore')
        },
      },
      {
        id: 'empty-restore',
        label: 'ckpt restore (local first) into an absent stateDir',
        command: b.ckpt.display(restoreArgs(empty.file)),
        bytes: size,
        prepare: () => fs.rm(path.dirname(target), {recursive: true, force: true}),
        run: async () => {
          const r = await b.ckpt.run(restoreArgs(empty.file))
          seen.empty.push(r.json?.tasks?.[0])
          return r
        },
        check: () => expectTree(target, want, 'empty restore'),
        cleanup: () => fs.rm(path.dirname(target), {recursive: true, force: true}),
      },
      {
        id: 'cp',
        label: 'cp -a of the local copy',
        command: 'cp -a LOCAL_COPY/state TARGET',
        bytes: size,
        prepare: () => fs.rm(cpTarget, {recursive: true, force: true}),
        run: () => runCommand(['cp', '-a', copyState, cpTarget]),
        check: () => expectTree(cpTarget, want, 'cp -a'),
        cleanup: () => fs.rm(cpTarget, {recursive: true, force: true}),
      },
    ],
    pairs,
    b.log,
    {alternate: true},
  )
  await fs.rm(dir, {recursive: true, force: true})
  const ms = (x: Measurement) => x.medianMs
  const sources = (list: any[]) => list.map((t) => `${t?.source} (local ${t?.localBytes}, remote ${t?.remoteBytes}${t?.inPlaceBytes !== undefined ? `, in place ${t.inPlaceBytes}` : ''})`).join('; ')
  return {
    id: 'incr-restore',
    title: `Restore of ${formatSize(size)} in ${files} files: after a crash (1% different) and into an empty stateDir, vs cp -a (format 2)`,
    method: `One take (untimed); then ${pairs} rounds (order reversed every other round) of: ${count} files of the stateDir rewritten (the crash) and ckpt restore into it, checked byte for byte against the checkpoint; ckpt restore into an absent stateDir (verified against the checkpoint's digests); cp -a of the local copy's state into an absent folder.`,
    measurements: Object.values(m),
    targets: [
      ratioTarget('restore after a crash (1% different) vs cp -a', '≥ 2× faster', m['crash-restore'], m.cp, 2, (r) => `${r} (${ms(m['crash-restore'])} vs ${ms(m.cp)} ms)`),
      ratioTarget('verified local restore into an empty stateDir vs cp -a', '≥ 0.8×', m['empty-restore'], m.cp, 0.8, (r) => `${r} (${ms(m['empty-restore'])} vs ${ms(m.cp)} ms)`),
      ...rssTargets(Object.values(m)),
    ],
    notes: [`Sources of the crash restores: ${sources(seen.crash)}.`, `Sources of the restores into an empty stateDir: ${sources(seen.empty)}.`],
  }
}

// Rewrites $2 files of $1 every $3 seconds, half an interval out of step with the checkpoints.
const TASK = `files=$1; count=$2; interval=$3
step=$((files / count)); [ "$step" -ge 1 ] || step=1
cd "$CKPT_STATE_DIR" || exit 1
sleep "$4"
b=0
while :; do
  j=0
  while [ $j -lt "$count" ]; do
    i=$(( (j * step + b % step) % files ))
    f=$(printf 'd%04d/f%06d.bin' $((i / 100)) $i)
    head -c "$(stat -c %s "$f")" /dev/urandom > "$f"
    j=$((j + 1))
  done
  b=$((b + 1))
  sleep "$interval"
done
`

export async function incrPauseCase(b: BenchContext): Promise<Result> {
  const {incrSize: size, incrFiles: files, incrRunCheckpoints: n, incrInterval: interval} = b.options
  const data = await b.dataset('incr', {files, bytes: size, seed: 'incr'})
  const dir = path.join(b.work, 'incr-pause')
  const count = onePercent(files)
  await fs.mkdir(dir, {recursive: true})
  await fs.writeFile(path.join(dir, 'task.sh'), TASK)
  const command = (every: number) => ['sh', path.join(dir, 'task.sh'), String(files), String(count), String(every), String(every / 2)]
  // One job: a take first, so that every capture of both runs has a previous copy to compare with.
  const first = await b.ckpt.run(takeArgs((await incrJob(dir, 'pause', {stateDir: data.dir})).file))
  // A full capture's checkpoint takes about as long as that first take: its run's interval leaves room for it.
  const fullEvery = Math.max(interval, Math.ceil((1.5 * first.ms) / 1000))
  const sides = [
    {id: 'pause-incr', label: `ckpt run pause, ${count} of ${files} files rewritten per interval`, every: interval, rereadEvery: 0},
    {id: 'pause-full', label: 'ckpt run pause, full capture (checkpoint.rereadEvery 1)', every: fullEvery, rereadEvery: 1},
  ]
  const measurements: Measurement[] = []
  const notes: string[] = [`The untimed take before the runs took ${(first.ms / 1000).toFixed(1)} s.`]
  for (const side of sides) {
    const job = await incrJob(dir, 'pause', {stateDir: data.dir, command: command(side.every), rereadEvery: side.rereadEvery, fileName: `${side.id}.json`})
    const args = ['run', '-j', job.file, '--fresh', '--interval', `${side.every}s`, '--duration', `${Math.round(side.every * (n + 0.5) * 1000)}ms`, '--json']
    const r = await b.ckpt.run(args)
    const checkpoints: any[] = r.json?.checkpoints ?? []
    const pauses = checkpoints.map((c) => c.pauseMs as number)
    b.log(`  ${side.label}: pauses ${pauses.join(', ')} ms; ${r.json?.skippedCheckpoints ?? 0} skipped`)
    if (pauses.length === 0) throw new Error(`${side.label}: the run took no checkpoint in ${n} intervals of ${side.every} s (raise --incr-interval)`)
    measurements.push(summarize({id: side.id, label: side.label, command: b.ckpt.display(args)}, pauses, r.maxRssKiB ? [r.maxRssKiB] : [], r.cpuMs !== undefined ? [r.cpuMs] : []))
    notes.push(
      `${side.label} (--interval ${side.every}s): pauseMs ${pauses.join(', ')}; uploadedBytes ${checkpoints.map((c) => c.uploadedBytes).join(', ')}; durationMs ${checkpoints.map((c) => c.durationMs).join(', ')}; ${r.json?.skippedCheckpoints ?? 0} skipped.`,
    )
  }
  await fs.rm(dir, {recursive: true, force: true})
  const [incr, full] = measurements
  const ratio = incr.medianMs !== null && full.medianMs ? round(incr.medianMs / full.medianMs, 3) : null
  return {
    id: 'incr-pause',
    title: `ckpt run pause: ${count} of ${files} files (${formatSize(size)}) rewritten per interval vs a full capture (format 2)`,
    method: `One job and an untimed take; then two ckpt runs of ${n} intervals each (--fresh): the task rewrites ${count} files every interval, half an interval out of step with the checkpoints. The figure is the run JSON's pauseMs per checkpoint (SIGSTOP to SIGCONT). The full capture is the second run, with checkpoint.rereadEvery 1 (every file copied at every pause) and an interval of at least 1.5× the first take, so that its checkpoints are not skipped. Peak RSS is of the ckpt run process.`,
    measurements,
    targets: [atMostTarget('run pause with 1% changed / pause of a full capture', '≤ 0.1×', ratio, 0.1, `${ratio}× (median ${incr.medianMs} vs ${full.medianMs} ms)`), ...rssTargets(measurements)],
    notes,
  }
}
