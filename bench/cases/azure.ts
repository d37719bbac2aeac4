// Azurite cases: remote restore vs rclone and the SDK's downloadToFile, local-first vs
// --prefer remote, and take vs rclone upload and vs --no-local.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import type {Azurite} from '../lib/azurite.js'
import {ckpt, ckptEnv, expectTree, writeJobFile, type Ckpt} from '../lib/ckpt.js'
import {runCommand} from '../lib/exec.js'
import {interleave, type Side} from '../lib/measure.js'
import {atMostTarget, ratioTarget, type BenchContext, type CaseResult} from '../lib/model.js'
import {repoRoot} from '../lib/options.js'
import {formatSize} from '../lib/report.js'

const CONTAINER = 'bench'
const SDK_PEER = path.join(repoRoot, 'bench', 'peers', 'sdk-download.mjs')

interface AzureSetup {
  az: Azurite
  ckpt: Ckpt
  rclone(args: string[]): ReturnType<typeof runCommand>
  rcloneNotRun?: string
}

async function azureSetup(b: BenchContext): Promise<AzureSetup> {
  const az = await b.azurite()
  await az.createContainer(CONTAINER)
  const sasUrl = await az.containerSasUrl(CONTAINER)
  const config = path.join(b.work, 'rclone.conf')
  await fs.writeFile(config, '')
  const rcloneEnv = {...process.env, RCLONE_CONFIG_AZ_TYPE: 'azureblob', RCLONE_CONFIG_AZ_SAS_URL: sasUrl}
  const peer = b.peers.rclone
  return {
    az,
    ckpt: ckpt(ckptEnv({AZURE_STORAGE_CONNECTION_STRING: az.connectionString}), b.options.timeoutMs, b.options.cli),
    rclone: (args) => runCommand([peer.bin ?? 'rclone', '--config', config, ...args], {env: rcloneEnv, timeoutMs: b.options.timeoutMs}),
    rcloneNotRun: peer.notRun,
  }
}

function dataSpec(b: BenchContext) {
  return {files: b.options.azureFiles, bytes: b.options.azureSize, seed: 'main'}
}

export async function azureRestoreCase(b: BenchContext): Promise<Omit<CaseResult, 'durationMs'>> {
  const s = await azureSetup(b)
  const data = await b.dataset('main', dataSpec(b))
  const want = {files: data.files, bytes: data.bytes}
  const size = data.bytes
  const dir = path.join(b.work, 'azure-restore')
  const job = {job: 'azrestore', primary: `azure://${CONTAINER}/restore`, localRoot: path.join(dir, 'local')}
  const takeJob = await writeJobFile(path.join(dir, 'take.json'), {...job, stateDir: data.dir})
  const target = path.join(dir, 'restored', 't0')
  const restoreJob = await writeJobFile(path.join(dir, 'restore.json'), {...job, stateDir: target})
  await s.az.deletePrefix(CONTAINER, 'restore/')
  await s.ckpt.run(['checkpoint', 'take', '-j', takeJob, '--json'])
  const show = await s.ckpt.run(['checkpoint', 'show', 'latest', '-j', restoreJob, '--json'])
  const archiveKey: string = show.json.tasks[0].archive
  const blobs = await s.az.listNames(CONTAINER, 'restore/')
  const archiveBlob = blobs.find((n) => n === archiveKey || n.endsWith(`/${archiveKey}`))
  const indexBlob = blobs.find((n) => n === archiveKey.replace(/\.tar$/, '.index.json') || n.endsWith(`/${archiveKey.replace(/\.tar$/, '.index.json')}`))
  if (!archiveBlob || !indexBlob) throw new Error(`cannot find the archive ${archiveKey} among the blobs of ${CONTAINER}/restore/: ${blobs.slice(0, 10).join(', ')}`)
  if (!s.rcloneNotRun) {
    await s.az.deletePrefix(CONTAINER, 'rclone-src/')
    await s.rclone(['copy', data.dir, `az:${CONTAINER}/rclone-src`])
  }
  const rcloneTarget = path.join(dir, 'rclone-target')
  const sdkTarget = path.join(dir, 'sdk-target')
  const clear = async () => {
    for (const d of [path.dirname(target), rcloneTarget, sdkTarget]) await fs.rm(d, {recursive: true, force: true})
  }
  let source = ''
  const restoreSide = (id: string, label: string, extra: string[], expect: string): Side => ({
    id,
    label,
    command: s.ckpt.display(['restore', ...extra, '-j', restoreJob, '--json']),
    bytes: size,
    prepare: clear,
    run: async () => {
      const r = await s.ckpt.run(['restore', ...extra, '-j', restoreJob, '--json'])
      source = r.json?.tasks?.[0]?.source
      return r
    },
    check: async () => {
      if (source !== expect) throw new Error(`${label} used source ${source}, expected ${expect}`)
      await expectTree(target, want, label)
    },
  })
  const sdkEnv = {...process.env, AZURE_STORAGE_CONNECTION_STRING: s.az.connectionString}
  const m = await interleave(
    [
      restoreSide('ckpt-remote', 'ckpt restore --prefer remote', ['--prefer', 'remote'], 'remote'),
      {
        id: 'rclone',
        label: 'rclone copy (download)',
        command: `rclone copy az:${CONTAINER}/rclone-src TARGET`,
        bytes: size,
        notRun: s.rcloneNotRun,
        prepare: clear,
        run: () => s.rclone(['copy', `az:${CONTAINER}/rclone-src`, rcloneTarget]),
        check: () => expectTree(rcloneTarget, want, 'rclone copy'),
      },
      {
        id: 'sdk',
        label: 'SDK downloadToFile (archive + index)',
        command: `node bench/peers/sdk-download.mjs ${CONTAINER} ARCHIVE_BLOB FILE INDEX_BLOB FILE`,
        bytes: size,
        prepare: async () => {
          await clear()
          await fs.mkdir(sdkTarget, {recursive: true})
        },
        run: () => runCommand([process.execPath, SDK_PEER, CONTAINER, archiveBlob, path.join(sdkTarget, 'archive.tar'), indexBlob, path.join(sdkTarget, 'index.json')], {env: sdkEnv, timeoutMs: b.options.timeoutMs}),
      },
      restoreSide('ckpt-local', 'ckpt restore (local first)', [], 'local'),
    ],
    b.options.pairs,
    b.log,
  )
  await clear()
  await s.az.deletePrefix(CONTAINER, 'restore/')
  await s.az.deletePrefix(CONTAINER, 'rclone-src/')
  await fs.rm(dir, {recursive: true, force: true})
  return {
    id: 'azure-restore',
    title: `Restore from Azurite of a ${formatSize(size)}, ${data.files}-file task state`,
    method: `One checkpoint taken to Azurite (untimed) and the same tree uploaded once with rclone (untimed). Then ${b.options.pairs} rounds of: ckpt restore --prefer remote (downloads the task's tar, checks every file's SHA-256, writes the tree), rclone copy of the ${data.files} blobs into an absent folder (defaults: 4 transfers), the SDK's BlobClient.downloadToFile of the tar and index blobs (one stream each, no hashing, no unpacking), and ckpt restore local first.`,
    measurements: Object.values(m),
    targets: [
      ratioTarget('remote restore vs rclone copy', '≥ 1.0× rclone', m['ckpt-remote'], m.rclone, 1.0, (r) => `${r} rclone's throughput (${m['ckpt-remote'].mbPerS} vs ${m.rclone.mbPerS} MB/s)`),
      ratioTarget('remote restore vs SDK downloadToFile', '≥ 0.8× the SDK', m['ckpt-remote'], m.sdk, 0.8, (r) => `${r} the SDK's throughput (${m['ckpt-remote'].mbPerS} vs ${m.sdk.mbPerS} MB/s)`),
      ratioTarget('recovery: local first vs --prefer remote', 'local first ≥ 5× faster', m['ckpt-local'], m['ckpt-remote'], 5, (r) => `${r} faster (${m['ckpt-local'].medianMs} vs ${m['ckpt-remote'].medianMs} ms)`),
    ],
    notes: ['Azurite runs on the same 2 cores as the client, so every remote figure includes the server\'s CPU time too; the peers pay the same.'],
  }
}

export async function azureTakeCase(b: BenchContext): Promise<Omit<CaseResult, 'durationMs'>> {
  const s = await azureSetup(b)
  const data = await b.dataset('main', dataSpec(b))
  const size = data.bytes
  const dir = path.join(b.work, 'azure-take')
  // Every run writes into its own prefix and local folder, and what the runs wrote is removed only
  // after the case: removing 512 MiB of blobs and a 500-file copy just before a run can leave work
  // (in Azurite, in the file system) that lands in the timed run, as unflushed writes would
  // without the sync. Takes in this case also stopped growing slower round after round.
  let run = 0
  let takeJob = ''
  const fresh = async () => {
    run++
    takeJob = await writeJobFile(path.join(dir, `take-${run}.json`), {job: 'aztake', primary: `azure://${CONTAINER}/take-${run}`, localRoot: path.join(dir, `local-${run}`), stateDir: data.dir})
  }
  const shown = (args: string[]) => s.ckpt.display(['checkpoint', 'take', ...args, '-j', path.join(dir, 'take.json'), '--json'])
  const m = await interleave(
    [
      {id: 'ckpt', label: 'ckpt checkpoint take (primary + secondary)', command: shown([]), bytes: size, prepare: fresh, run: () => s.ckpt.run(['checkpoint', 'take', '-j', takeJob, '--json'])},
      {
        id: 'ckpt-no-local',
        label: 'ckpt checkpoint take --no-local',
        command: shown(['--no-local']),
        bytes: size,
        prepare: fresh,
        run: () => s.ckpt.run(['checkpoint', 'take', '--no-local', '-j', takeJob, '--json']),
      },
      {
        id: 'rclone',
        label: 'rclone copy (upload)',
        command: `rclone copy DATA az:${CONTAINER}/rclone-up`,
        bytes: size,
        notRun: s.rcloneNotRun,
        prepare: async () => void run++,
        run: () => s.rclone(['copy', data.dir, `az:${CONTAINER}/rclone-up-${run}`]),
      },
    ],
    b.options.pairs,
    b.log,
  )
  for (let n = 1; n <= run; n++) {
    await s.az.deletePrefix(CONTAINER, `take-${n}/`)
    await s.az.deletePrefix(CONTAINER, `rclone-up-${n}/`)
  }
  await fs.rm(dir, {recursive: true, force: true})
  const overhead = m.ckpt.medianMs !== null && m['ckpt-no-local'].medianMs !== null ? Math.round((m.ckpt.medianMs / m['ckpt-no-local'].medianMs - 1) * 1000) / 10 : null
  return {
    id: 'azure-take',
    title: `Take to Azurite of a ${formatSize(size)}, ${data.files}-file task state`,
    method: `${b.options.pairs} rounds of: ckpt checkpoint take (primary tar to Azurite + secondary copy on disk), the same with --no-local, and rclone copy of the tree into the container (defaults: 4 transfers) — each into its own empty prefix (and local folder); what the runs wrote is removed after the case, so no run pays for removing another's files.`,
    measurements: Object.values(m),
    targets: [
      ratioTarget('take to Azurite vs rclone upload', '≥ 1.0× rclone', m.ckpt, m.rclone, 1.0, (r) => `${r} rclone's throughput (${m.ckpt.mbPerS} vs ${m.rclone.mbPerS} MB/s)`),
      atMostTarget('secondary copy overhead on a take to Azurite', 'adds ≤ 10%', overhead, 10, `${overhead}% (${m.ckpt.medianMs} vs ${m['ckpt-no-local'].medianMs} ms)`),
    ],
    notes: [],
  }
}
