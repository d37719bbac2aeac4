// Azurite cases: remote restore vs rclone and the SDK's downloadToFile, local-first vs
// --prefer remote, and take vs rclone upload and vs --no-local; each over the case's link.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import type {Azurite} from '../lib/azurite.js'
import {ckpt, ckptEnv, expectTree, writeJobFile, type Ckpt} from '../lib/ckpt.js'
import {runCommand} from '../lib/exec.js'
import {linkNote, openLink, type Link} from '../lib/link.js'
import {interleave, type Side} from '../lib/measure.js'
import {atMostTarget, ratioTarget, type BenchContext, type CaseResult} from '../lib/model.js'
import {repoRoot} from '../lib/options.js'
import {formatSize} from '../lib/report.js'

const CONTAINER = 'bench'
const SDK_PEER = path.join(repoRoot, 'bench', 'peers', 'sdk-download.mjs')

interface AzureSetup {
  az: Azurite
  link: Link
  /** ckpt over the link (timed runs). */
  ckpt: Ckpt
  /** ckpt straight to Azurite (untimed set-up). */
  direct: Ckpt
  /** rclone over the link, or straight to Azurite. */
  rclone(args: string[], direct?: boolean): ReturnType<typeof runCommand>
  rcloneNotRun?: string
}

async function azureSetup(b: BenchContext): Promise<AzureSetup> {
  const az = await b.azurite()
  await az.createContainer(CONTAINER)
  const link = await openLink(az, b.network)
  const config = path.join(b.work, 'rclone.conf')
  await fs.writeFile(config, '')
  const rcloneEnv = (sasUrl: string) => ({...process.env, RCLONE_CONFIG_AZ_TYPE: 'azureblob', RCLONE_CONFIG_AZ_SAS_URL: sasUrl})
  const [linked, direct] = [rcloneEnv(await link.sasUrl(CONTAINER)), rcloneEnv(await az.containerSasUrl(CONTAINER))]
  const peer = b.peers.rclone
  const ckptOver = (connectionString: string) => ckpt(ckptEnv({AZURE_STORAGE_CONNECTION_STRING: connectionString}), b.options.timeoutMs, b.options.cli)
  return {
    az,
    link,
    ckpt: ckptOver(link.connectionString),
    direct: ckptOver(az.connectionString),
    rclone: (args, straight) => runCommand([peer.bin ?? 'rclone', '--config', config, ...args], {env: straight ? direct : linked, timeoutMs: b.options.timeoutMs}),
    rcloneNotRun: peer.notRun,
  }
}

function dataSpec(b: BenchContext) {
  return {files: b.options.azureFiles, bytes: b.options.azureSize, seed: 'main'}
}

type CaseOutput = Omit<CaseResult, 'durationMs'>

/** Runs a case over its link, and closes the link whatever happens. */
async function overLink(b: BenchContext, body: (s: AzureSetup) => Promise<CaseOutput>): Promise<CaseOutput> {
  const s = await azureSetup(b)
  try {
    return await body(s)
  } finally {
    await s.link.close()
  }
}

export const azureRestoreCase = (b: BenchContext) => overLink(b, (s) => restoreOver(b, s))
export const azureTakeCase = (b: BenchContext) => overLink(b, (s) => takeOver(b, s))

async function restoreOver(b: BenchContext, s: AzureSetup): Promise<CaseOutput> {
  const data = await b.dataset('main', dataSpec(b))
  const want = {files: data.files, bytes: data.bytes}
  const size = data.bytes
  const dir = path.join(b.work, 'azure-restore')
  // Format 1: the task's one tar is what the SDK's downloadToFile fetches beside ckpt's restore.
  const job = {job: 'azrestore', primary: `azure://${CONTAINER}/restore`, localRoot: path.join(dir, 'local'), format: 1 as const}
  const takeJob = await writeJobFile(path.join(dir, 'take.json'), {...job, stateDir: data.dir})
  const target = path.join(dir, 'restored', 't0')
  const restoreJob = await writeJobFile(path.join(dir, 'restore.json'), {...job, stateDir: target})
  await s.az.deletePrefix(CONTAINER, 'restore/')
  await s.direct.run(['checkpoint', 'take', '-j', takeJob, '--json'])
  const show = await s.direct.run(['checkpoint', 'show', 'latest', '-j', restoreJob, '--json'])
  const archiveKey: string = show.json.tasks[0].archive
  const blobs = await s.az.listNames(CONTAINER, 'restore/')
  const archiveBlob = blobs.find((n) => n === archiveKey || n.endsWith(`/${archiveKey}`))
  const indexBlob = blobs.find((n) => n === archiveKey.replace(/\.tar$/, '.index.json') || n.endsWith(`/${archiveKey.replace(/\.tar$/, '.index.json')}`))
  if (!archiveBlob || !indexBlob) throw new Error(`cannot find the archive ${archiveKey} among the blobs of ${CONTAINER}/restore/: ${blobs.slice(0, 10).join(', ')}`)
  if (!s.rcloneNotRun) {
    await s.az.deletePrefix(CONTAINER, 'rclone-src/')
    await s.rclone(['copy', data.dir, `az:${CONTAINER}/rclone-src`], true)
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
    run: s.link.counted(id, async () => {
      const r = await s.ckpt.run(['restore', ...extra, '-j', restoreJob, '--json'])
      source = r.json?.tasks?.[0]?.source
      return r
    }),
    check: async () => {
      if (source !== expect) throw new Error(`${label} used source ${source}, expected ${expect}`)
      await expectTree(target, want, label)
    },
  })
  const sdkEnv = {...process.env, AZURE_STORAGE_CONNECTION_STRING: s.link.connectionString}
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
        run: s.link.counted('rclone', () => s.rclone(['copy', `az:${CONTAINER}/rclone-src`, rcloneTarget])),
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
        run: s.link.counted('sdk', () =>
          runCommand([process.execPath, SDK_PEER, CONTAINER, archiveBlob, path.join(sdkTarget, 'archive.tar'), indexBlob, path.join(sdkTarget, 'index.json')], {
            env: sdkEnv,
            timeoutMs: b.options.timeoutMs,
          }),
        ),
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
  const labels = {'ckpt-remote': 'ckpt --prefer remote', rclone: 'rclone', sdk: 'SDK', 'ckpt-local': 'ckpt local first'}
  return {
    id: 'azure-restore',
    title: `Restore from Azurite of a ${formatSize(size)}, ${data.files}-file task state, over ${s.link.name}`,
    network: s.link.name,
    networkDescription: s.link.description,
    method: `One checkpoint taken to Azurite (untimed) and the same tree uploaded once with rclone (untimed). Then ${b.options.pairs} rounds of: ckpt restore --prefer remote (downloads the task's tar, checks every file's SHA-256, writes the tree), rclone copy of the ${data.files} blobs into an absent folder (defaults: 4 transfers), the SDK's BlobClient.downloadToFile of the tar and index blobs (one stream each, no hashing, no unpacking), and ckpt restore local first.`,
    measurements: Object.values(m),
    targets: [
      ratioTarget('remote restore vs rclone copy', '≥ 1.0× rclone', m['ckpt-remote'], m.rclone, 1.0, (r) => `${r} rclone's throughput (${m['ckpt-remote'].mbPerS} vs ${m.rclone.mbPerS} MB/s)`),
      ratioTarget('remote restore vs SDK downloadToFile', '≥ 0.9× the SDK', m['ckpt-remote'], m.sdk, 0.9, (r) => `${r} the SDK's throughput (${m['ckpt-remote'].mbPerS} vs ${m.sdk.mbPerS} MB/s)`),
      ratioTarget(
        'recovery: local first vs --prefer remote',
        'local first ≥ 5× faster',
        m['ckpt-local'],
        m['ckpt-remote'],
        5,
        (r) => `${r} faster (${m['ckpt-local'].medianMs} vs ${m['ckpt-remote'].medianMs} ms)`,
      ),
    ].map((t) => s.link.judge(t)),
    notes: [linkNote(s.link), ...s.link.trafficNotes(labels)],
  }
}

async function takeOver(b: BenchContext, s: AzureSetup): Promise<CaseOutput> {
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
    takeJob = await writeJobFile(path.join(dir, `take-${run}.json`), {
      job: 'aztake',
      primary: `azure://${CONTAINER}/take-${run}`,
      localRoot: path.join(dir, `local-${run}`),
      stateDir: data.dir,
      format: 1,
    })
  }
  const shown = (args: string[]) => s.ckpt.display(['checkpoint', 'take', ...args, '-j', path.join(dir, 'take.json'), '--json'])
  const m = await interleave(
    [
      {
        id: 'ckpt',
        label: 'ckpt checkpoint take (primary + secondary)',
        command: shown([]),
        bytes: size,
        prepare: fresh,
        run: s.link.counted('ckpt', () => s.ckpt.run(['checkpoint', 'take', '-j', takeJob, '--json'])),
      },
      {
        id: 'ckpt-no-local',
        label: 'ckpt checkpoint take --no-local',
        command: shown(['--no-local']),
        bytes: size,
        prepare: fresh,
        run: s.link.counted('ckpt-no-local', () => s.ckpt.run(['checkpoint', 'take', '--no-local', '-j', takeJob, '--json'])),
      },
      {
        id: 'rclone',
        label: 'rclone copy (upload)',
        command: `rclone copy DATA az:${CONTAINER}/rclone-up`,
        bytes: size,
        notRun: s.rcloneNotRun,
        prepare: async () => void run++,
        run: s.link.counted('rclone', () => s.rclone(['copy', data.dir, `az:${CONTAINER}/rclone-up-${run}`])),
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
  const labels = {ckpt: 'ckpt take', 'ckpt-no-local': 'ckpt take --no-local', rclone: 'rclone'}
  return {
    id: 'azure-take',
    title: `Take to Azurite of a ${formatSize(size)}, ${data.files}-file task state, over ${s.link.name}`,
    network: s.link.name,
    networkDescription: s.link.description,
    method: `${b.options.pairs} rounds of: ckpt checkpoint take (primary tar to Azurite + secondary copy on disk), the same with --no-local, and rclone copy of the tree into the container (defaults: 4 transfers) — each into its own empty prefix (and local folder); what the runs wrote is removed after the case, so no run pays for removing another's files.`,
    measurements: Object.values(m),
    targets: [
      ratioTarget('take to Azurite vs rclone upload', '≥ 1.0× rclone', m.ckpt, m.rclone, 1.0, (r) => `${r} rclone's throughput (${m.ckpt.mbPerS} vs ${m.rclone.mbPerS} MB/s)`),
      atMostTarget('secondary copy overhead on a take to Azurite', 'adds ≤ 10%', overhead, 10, `${overhead}% (${m.ckpt.medianMs} vs ${m['ckpt-no-local'].medianMs} ms)`),
    ].map((t) => s.link.judge(t)),
    notes: [linkNote(s.link), ...s.link.trafficNotes(labels)],
  }
}
