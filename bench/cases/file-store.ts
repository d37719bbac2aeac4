// Take and restore on the file store against restic backup / restore with a local repository.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {expectTree, writeJobFile} from '../lib/ckpt.js'
import {runCommand} from '../lib/exec.js'
import {interleave, type Side} from '../lib/measure.js'
import {ratioTarget, type BenchContext, type CaseResult} from '../lib/model.js'
import {formatSize} from '../lib/report.js'

export async function fileStoreCase(b: BenchContext): Promise<Omit<CaseResult, 'durationMs'>> {
  const {size, files} = b.options
  const data = await b.dataset('main', {files, bytes: size, seed: 'main'})
  const want = {files: data.files, bytes: data.bytes}
  const dir = path.join(b.work, 'file-store')
  const job = {job: 'filestore', primary: path.join(dir, 'primary'), localRoot: path.join(dir, 'local')}
  const takeJob = await writeJobFile(path.join(dir, 'take.json'), {...job, stateDir: data.dir})
  const target = path.join(dir, 'restored', 't0')
  const restoreJob = await writeJobFile(path.join(dir, 'restore.json'), {...job, stateDir: target})
  const restic = b.peers.restic
  const repo = path.join(dir, 'restic-repo')
  const resticTarget = path.join(dir, 'restic-target')
  const resticEnv = {...process.env, RESTIC_PASSWORD: 'bench', RESTIC_CACHE_DIR: path.join(dir, 'restic-cache')}
  const resticCmd = (args: string[]) => runCommand([restic.bin ?? 'restic', '-r', repo, ...args], {env: resticEnv, timeoutMs: b.options.timeoutMs})
  const emptyStores = async () => {
    await fs.rm(job.primary, {recursive: true, force: true})
    await fs.rm(job.localRoot, {recursive: true, force: true})
  }
  const emptyRepo = async () => {
    await fs.rm(repo, {recursive: true, force: true})
    await fs.rm(resticEnv.RESTIC_CACHE_DIR, {recursive: true, force: true})
    await resticCmd(['init', '--quiet'])
  }

  // Takes: every run writes into an empty store / a fresh repository, so neither gains from an earlier run.
  const takeSides: Side[] = [
    {
      id: 'ckpt-take',
      label: 'ckpt checkpoint take',
      command: b.ckpt.display(['checkpoint', 'take', '-j', takeJob, '--json']),
      bytes: size,
      prepare: emptyStores,
      run: () => b.ckpt.run(['checkpoint', 'take', '-j', takeJob, '--json']),
    },
    {
      id: 'restic-backup',
      label: 'restic backup',
      command: 'restic -r REPO backup DATA --quiet --host bench',
      bytes: size,
      notRun: restic.notRun,
      prepare: emptyRepo,
      run: () => resticCmd(['backup', data.dir, '--quiet', '--host', 'bench']),
    },
  ]
  b.log(' takes')
  const takes = await interleave(takeSides, b.options.pairs, b.log)

  // Restores of one checkpoint / one snapshot.
  await emptyStores()
  await b.ckpt.run(['checkpoint', 'take', '-j', takeJob, '--json'])
  if (!restic.notRun) {
    await emptyRepo()
    await resticCmd(['backup', data.dir, '--quiet', '--host', 'bench'])
  }
  const clear = async () => {
    await fs.rm(path.dirname(target), {recursive: true, force: true})
    await fs.rm(resticTarget, {recursive: true, force: true})
  }
  let source = ''
  const restoreSide = (id: string, label: string, extra: string[], expect: string): Side => ({
    id,
    label,
    command: b.ckpt.display(['restore', ...extra, '-j', restoreJob, '--json']),
    bytes: size,
    prepare: clear,
    run: async () => {
      const r = await b.ckpt.run(['restore', ...extra, '-j', restoreJob, '--json'])
      source = r.json?.tasks?.[0]?.source
      return r
    },
    check: async () => {
      if (source !== expect) throw new Error(`${label} used source ${source}, expected ${expect}`)
      await expectTree(target, want, label)
    },
  })
  const restoreSides: Side[] = [
    restoreSide('ckpt-restore-remote', 'ckpt restore --prefer remote (from the primary)', ['--prefer', 'remote'], 'remote'),
    restoreSide('ckpt-restore-local', 'ckpt restore (local first)', [], 'local'),
    {
      id: 'restic-restore',
      label: 'restic restore',
      command: 'restic -r REPO restore latest --target TARGET --quiet',
      bytes: size,
      notRun: restic.notRun,
      prepare: clear,
      run: () => resticCmd(['restore', 'latest', '--target', resticTarget, '--quiet']),
      check: () => expectTree(path.join(resticTarget, data.dir), want, 'restic restore'),
    },
  ]
  b.log(' restores')
  const restores = await interleave(restoreSides, b.options.pairs, b.log)
  await clear()
  await emptyStores()
  await fs.rm(repo, {recursive: true, force: true})

  const m = {...takes, ...restores}
  return {
    id: 'file-store',
    title: `Take and restore on the file store (${formatSize(size)}, ${files} files) vs restic`,
    method: `Takes: ${b.options.pairs} rounds of ckpt checkpoint take (primary tar + secondary copy, fsynced primary) and restic backup (default compression) into a fresh local repository — every run starts from an empty store. Restores of one checkpoint / snapshot into an absent folder: ckpt restore --prefer remote (reads the primary tar, the same work restic does), ckpt restore (local first), restic restore.`,
    measurements: Object.values(m),
    targets: [
      ratioTarget(
        'file-store take vs restic backup',
        'faster than restic (> 1.0×)',
        m['ckpt-take'],
        m['restic-backup'],
        1.0001,
        (r) => `${r} restic's speed (${m['ckpt-take'].medianMs} vs ${m['restic-backup'].medianMs} ms)`,
      ),
      ratioTarget(
        'file-store restore (from the primary) vs restic restore',
        'faster than restic (> 1.0×)',
        m['ckpt-restore-remote'],
        m['restic-restore'],
        1.0001,
        (r) => `${r} restic's speed (${m['ckpt-restore-remote'].medianMs} vs ${m['restic-restore'].medianMs} ms)`,
      ),
    ],
    notes: [
      'ckpt take writes the data twice (primary tar + secondary copy) and fsyncs the primary; restic writes it once, compressed (random data: no gain) and deduplicated (none within this data set).',
      `Local-first restore vs restic restore: ${m['ckpt-restore-local'].medianMs !== null && m['restic-restore'].medianMs !== null ? `${(m['restic-restore'].medianMs! / m['ckpt-restore-local'].medianMs!).toFixed(2)}×` : 'not measured'}.`,
    ],
  }
}
