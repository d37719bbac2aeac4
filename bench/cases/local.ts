// Local restore (the secondary copy, hashed while copied) against `cp -a` of the same tree.
import * as fs from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import {NODE_NAME, expectTree, writeJobFile} from '../lib/ckpt.js'
import {runCommand} from '../lib/exec.js'
import {interleave} from '../lib/measure.js'
import {ratioTarget, type BenchContext, type CaseResult} from '../lib/model.js'
import {formatSize} from '../lib/report.js'

export async function localCase(b: BenchContext): Promise<Omit<CaseResult, 'durationMs'>> {
  const {size, files} = b.options
  const data = await b.dataset('main', {files, bytes: size, seed: 'main'})
  const dir = path.join(b.work, 'local')
  const job = {job: 'local', primary: path.join(dir, 'primary'), localRoot: path.join(dir, 'local')}
  const takeJob = await writeJobFile(path.join(dir, 'take.json'), {...job, stateDir: data.dir})
  const target = path.join(dir, 'restored', 't0')
  const restoreJob = await writeJobFile(path.join(dir, 'restore.json'), {...job, stateDir: target})
  const take = await b.ckpt.run(['checkpoint', 'take', '-j', takeJob, '--json'])
  const copyState = path.join(job.localRoot, NODE_NAME, 'local', 't0', take.json.checkpointId, 'state')
  const cpTarget = path.join(dir, 'cp-target')
  const want = {files: data.files, bytes: data.bytes}
  const clear = async () => {
    await fs.rm(path.dirname(target), {recursive: true, force: true})
    await fs.rm(cpTarget, {recursive: true, force: true})
  }
  const nproc = os.availableParallelism()
  let lastSource = ''
  const m = await interleave(
    [
      {
        id: 'ckpt',
        label: 'ckpt restore (local first)',
        command: b.ckpt.display(['restore', '-j', restoreJob, '--json']),
        bytes: size,
        prepare: clear,
        run: async () => {
          const r = await b.ckpt.run(['restore', '-j', restoreJob, '--json'])
          lastSource = r.json?.tasks?.[0]?.source
          return r
        },
        check: async () => {
          if (lastSource !== 'local') throw new Error(`ckpt restore used source ${lastSource}, expected local`)
          await expectTree(target, want, 'ckpt restore')
        },
      },
      {
        id: 'cp',
        label: 'cp -a of the secondary copy',
        command: 'cp -a SECONDARY_COPY/state TARGET',
        bytes: size,
        prepare: clear,
        run: () => runCommand(['cp', '-a', copyState, cpTarget]),
        check: () => expectTree(cpTarget, want, 'cp -a'),
      },
      {
        // What verification costs with standard tools: the same copy, then SHA-256 of every file on every core.
        id: 'cp-sha',
        label: 'cp -a, then sha256sum of every file (xargs -P nproc)',
        command: `cp -a SECONDARY_COPY/state TARGET && find TARGET -type f -print0 | xargs -0 -P ${nproc} -n 64 sha256sum`,
        bytes: size,
        prepare: clear,
        run: () => runCommand(['sh', '-c', `cp -a "$1" "$2" && find "$2" -type f -print0 | xargs -0 -P ${nproc} -n 64 sha256sum > /dev/null`, 'sh', copyState, cpTarget]),
      },
    ],
    b.options.pairs,
    b.log,
  )
  await clear()
  return {
    id: 'local',
    title: `Local restore of a ${formatSize(size)}, ${files}-file task state`,
    method: `One checkpoint on the file store (untimed), then ${b.options.pairs} rounds of: ckpt restore into an absent stateDir (the secondary copy is used: each file copied in the kernel, then the written file hashed on a worker thread and checked against the manifest), cp -a of the same secondary-copy tree into an absent folder, and (for reference) cp -a followed by sha256sum of every file. Page cache warm for both; sync before every run.`,
    measurements: Object.values(m),
    targets: [ratioTarget('local restore vs cp -a', '≥ 0.8× cp -a throughput', m.ckpt, m.cp, 0.8, (r) => `${r} cp -a's throughput (${m.ckpt.mbPerS} vs ${m.cp.mbPerS} MB/s)`)],
    notes: [
      `With verification on both sides (cp -a, then sha256sum of every file on ${nproc} cores), ckpt restore runs at ${m.ckpt.medianMs && m['cp-sha'].medianMs ? `${(m['cp-sha'].medianMs / m.ckpt.medianMs).toFixed(2)}×` : '—'} its throughput. Both copy in the kernel (copy_file_range); cp -a checks nothing, while ckpt also reads every written byte back and hashes it (SHA-256, on every core), and its time includes Node and CLI start-up.`,
    ],
  }
}
