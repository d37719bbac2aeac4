// Azure transfers, in process, side by side over the case's link: ckpt's hand-written block
// upload and resumable reads (stores/azure-store.ts, azure-transfer.ts) against
// the SDK's own BlockBlobClient.uploadStream, BlobClient.download and downloadToBuffer (with the
// SDK's per-request retry), for one big object and for many small ones. Issue 12 point 1 keeps
// hand-written code only where this shows a gain.
import {randomBytes} from 'node:crypto'
import {Readable, Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {BlobServiceClient, type ContainerClient} from '@azure/storage-blob'
import {createAzureStore, type AzureStore} from '../../src/core/stores/azure-store.js'
import {DEFAULT_BLOCK_SIZE, DEFAULT_CONCURRENCY, sendOnce} from '../../src/core/stores/store.js'
import {mapLimit} from '../../src/core/util/pool.js'
import type {RunResult} from '../lib/exec.js'
import {linkNote, openLink} from '../lib/link.js'
import {interleave, summarize, type Measurement, type Side} from '../lib/measure.js'
import {ratioTarget, type BenchContext, type CaseResult} from '../lib/model.js'
import {formatSize} from '../lib/report.js'

const CONTAINER = 'bench-transfer'
const SMALL_COUNT = 400
const SMALL_SIZE = 16 * 1024
/** Objects in flight for the many-small-objects sides (both sides alike). */
const SMALL_PARALLEL = 8

/** Times fn in this process: wall time and this process's CPU (Azurite's is not counted). */
async function timed(fn: () => Promise<void>): Promise<RunResult> {
  const cpu = process.cpuUsage()
  const started = performance.now()
  await fn()
  const used = process.cpuUsage(cpu)
  return {ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000, code: 0, stdout: '', stderr: ''}
}

/** Reads a stream to its end and checks the byte count. */
async function drain(stream: NodeJS.ReadableStream | Readable, expected: number): Promise<void> {
  let got = 0
  await pipeline(stream as Readable, new Writable({write: (chunk: Buffer, _e, done) => ((got += chunk.length), done())}))
  if (got !== expected) throw new Error(`read ${got} bytes, expected ${expected}`)
}

/** The body as 1 MiB chunks, as a take's archive arrives. */
const chunks = (body: Buffer) =>
  Readable.from(
    (function* () {
      for (let i = 0; i < body.length; i += 1 << 20) yield body.subarray(i, i + (1 << 20))
    })(),
  )

type CaseOutput = Omit<CaseResult, 'durationMs'>

/** interleave() with the order of the sides reversed every other round; one measurement per side over all rounds. */
async function bothWays(sides: Side[], rounds: number, log: (line: string) => void, cpu: Map<string, number[]>): Promise<Record<string, Measurement>> {
  const samples = new Map<string, number[]>(sides.map((s) => [s.id, []]))
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse()
    const one = await interleave(order, 1, log)
    for (const side of sides) samples.get(side.id)!.push(...one[side.id].samplesMs)
  }
  return Object.fromEntries(sides.map((side) => [side.id, summarize(side, samples.get(side.id)!, [], cpu.get(side.id) ?? [])]))
}

export async function azureTransferCase(b: BenchContext): Promise<CaseOutput> {
  const az = await b.azurite()
  await az.createContainer(CONTAINER).catch(() => {})
  const link = await openLink(az, b.network)
  let store: AzureStore | undefined
  try {
    store = createAzureStore(`azure://${CONTAINER}`, {baseDir: b.work, env: {AZURE_STORAGE_CONNECTION_STRING: link.connectionString}})
    await store.open()
    const sdk: ContainerClient = BlobServiceClient.fromConnectionString(link.connectionString).getContainerClient(CONTAINER)
    return await measure(b, store, sdk, link)
  } finally {
    await store?.close()
    await az.deletePrefix(CONTAINER, '').catch(() => {})
    await link.close()
  }
}

async function measure(b: BenchContext, store: AzureStore, sdk: ContainerClient, link: Awaited<ReturnType<typeof openLink>>): Promise<CaseOutput> {
  const size = b.options.azureSize
  const big = randomBytes(size)
  const small = Array.from({length: SMALL_COUNT}, (_, i) => ({key: `small/${String(i).padStart(4, '0')}`, body: randomBytes(SMALL_SIZE)}))
  // The objects the download sides read, written once, untimed.
  await store.put('big/read', big)
  await mapLimit(small, SMALL_PARALLEL, (o) => store.put(o.key, o.body))
  const [block, concurrency] = [DEFAULT_BLOCK_SIZE, DEFAULT_CONCURRENCY]
  const smallBytes = SMALL_COUNT * SMALL_SIZE
  const cpu = new Map<string, number[]>()
  const side = (id: string, label: string, bytes: number, command: string, fn: () => Promise<void>): Side => ({
    id,
    label,
    command,
    bytes,
    run: link.counted(id, async () => {
      const result = await timed(fn)
      cpu.set(id, [...(cpu.get(id) ?? []), result.cpuMs!])
      return result
    }),
  })
  const m = await bothWays(
    [
      side('up-ckpt', 'ckpt put: hand-written block upload', size, `AzureStore.put (stageBlocks, ${formatSize(block)} x ${concurrency})`, () => store.put('big/up-ckpt', sendOnce(chunks(big)))),
      side(
        'up-sdk',
        'SDK BlockBlobClient.uploadStream',
        size,
        `uploadStream(stream, ${formatSize(block)}, ${concurrency})`,
        async () => void (await sdk.getBlockBlobClient('big/up-sdk').uploadStream(chunks(big), block, concurrency)),
      ),
      side('down-ckpt', 'ckpt get: hand-written resumable stream', size, 'AzureStore.get (streamRange)', async () => drain(await store.get('big/read'), size)),
      side('down-sdk', 'SDK BlobClient.download (one resumable stream)', size, 'BlobClient.download(0)', async () =>
        drain((await sdk.getBlobClient('big/read').download(0)).readableStreamBody!, size),
      ),
      side('down-sdk-buffer', 'SDK BlobClient.downloadToBuffer', size, `downloadToBuffer(0, undefined, {blockSize: ${formatSize(block)}, concurrency: ${concurrency}})`, async () => {
        const got = await sdk.getBlobClient('big/read').downloadToBuffer(0, undefined, {blockSize: block, concurrency})
        if (got.length !== size) throw new Error(`downloadToBuffer read ${got.length} bytes`)
      }),
      side(
        'small-up-ckpt',
        `ckpt put x ${SMALL_COUNT}`,
        smallBytes,
        `AzureStore.put(Buffer), ${SMALL_PARALLEL} at a time`,
        async () => void (await mapLimit(small, SMALL_PARALLEL, (o) => store.put(`up-ckpt/${o.key}`, o.body))),
      ),
      side(
        'small-up-sdk',
        `SDK upload x ${SMALL_COUNT}`,
        smallBytes,
        `BlockBlobClient.upload, ${SMALL_PARALLEL} at a time`,
        async () => void (await mapLimit(small, SMALL_PARALLEL, (o) => sdk.getBlockBlobClient(`up-sdk/${o.key}`).upload(o.body, o.body.length))),
      ),
      side(
        'small-down-ckpt',
        `ckpt get x ${SMALL_COUNT}`,
        smallBytes,
        `AzureStore.get, ${SMALL_PARALLEL} at a time`,
        async () => void (await mapLimit(small, SMALL_PARALLEL, async (o) => drain(await store.get(o.key), SMALL_SIZE))),
      ),
      side(
        'small-down-sdk',
        `SDK download x ${SMALL_COUNT}`,
        smallBytes,
        `BlobClient.download, ${SMALL_PARALLEL} at a time`,
        async () => void (await mapLimit(small, SMALL_PARALLEL, async (o) => drain((await sdk.getBlobClient(o.key).download(0)).readableStreamBody!, SMALL_SIZE))),
      ),
    ],
    b.options.pairs,
    b.log,
    cpu,
  )
  const gain = (name: string, ours: string, theirs: string) =>
    link.judge(ratioTarget(name, 'hand-written ≥ 1.05× the SDK (else the SDK replaces it)', m[ours], m[theirs], 1.05, (r) => `${r} (${m[ours].medianMs} vs ${m[theirs].medianMs} ms)`))
  return {
    id: 'azure-transfer',
    title: `Azure transfers, hand-written vs the SDK: a ${formatSize(size)} object and ${SMALL_COUNT} objects of ${formatSize(SMALL_SIZE)}, over ${link.name}`,
    network: link.name,
    networkDescription: link.description,
    method: `In the bench process, ${b.options.pairs} rounds of each side in turn, the order reversed every other round (A B C ... C B A ...) so that no side always follows the same one (Azurite finishes a write's work after it answers), every side over the same link: ckpt's AzureStore (the store alone, no retry decorator) against the SDK's own calls with its default per-request retry. Block size ${formatSize(block)} and ${concurrency} in flight on both sides; the small objects go ${SMALL_PARALLEL} at a time on both sides. Times are wall time of the transfer only (no process start); CPU is the bench process's.`,
    measurements: Object.values(m),
    targets: [
      gain('upload: block upload vs uploadStream', 'up-ckpt', 'up-sdk'),
      gain('download: resumable stream vs download()', 'down-ckpt', 'down-sdk'),
      gain('download: resumable stream vs downloadToBuffer', 'down-ckpt', 'down-sdk-buffer'),
      gain('small uploads', 'small-up-ckpt', 'small-up-sdk'),
      gain('small downloads', 'small-down-ckpt', 'small-down-sdk'),
    ],
    notes: [linkNote(link), ...link.trafficNotes({})],
  }
}
