// Memory stays bounded by block size x concurrency whatever the object size: a 128 MiB object goes
// up and comes back through the Azure store (against Azurite) while live buffer memory is sampled.
// Its own file, so that its own process gives a clean baseline.
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {Readable, Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {after, before, describe, it} from 'node:test'
import {setFlagsFromString} from 'node:v8'
import {runInNewContext} from 'node:vm'
import {openAzureStore} from '../../../src/core/stores/azure-store.js'
import {withRetry} from '../../../src/core/stores/retry.js'
import {sendOnce, type PrimaryStore} from '../../../src/core/stores/store.js'
import {Azurite, uniqueContainer} from '../../helpers/azurite.js'

const MiB = 1024 * 1024
const SIZE = 128 * MiB
const BLOCK = 4 * MiB
const CONCURRENCY = 3

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** Samples live external (Buffer) memory after a full GC, and RSS, while `work` runs. */
async function peakDuring(work: () => Promise<void>): Promise<{buffers: number; rss: number}> {
  gc()
  const base = process.memoryUsage()
  let buffers = 0
  let rss = 0
  const sample = () => {
    gc()
    const now = process.memoryUsage()
    buffers = Math.max(buffers, now.arrayBuffers - base.arrayBuffers)
    rss = Math.max(rss, now.rss - base.rss)
  }
  const timer = setInterval(sample, 100)
  try {
    await work()
  } finally {
    clearInterval(timer)
  }
  sample()
  return {buffers, rss}
}

/** SIZE bytes made on the fly, 1 MiB at a time, each chunk different. */
function generated(hash: ReturnType<typeof createHash>): Readable {
  const seed = Buffer.alloc(MiB, 'ckpt memory test ')
  let i = 0
  return new Readable({
    read() {
      if (i * MiB >= SIZE) return void this.push(null)
      const chunk = Buffer.from(seed)
      chunk.writeUInt32BE(i++, 0)
      hash.update(chunk)
      this.push(chunk)
    },
  })
}

describe('azure store memory', () => {
  let azurite: Azurite
  let store: PrimaryStore
  before(async () => {
    azurite = await Azurite.start()
    store = withRetry(
      await openAzureStore(`azure://${uniqueContainer('mem')}`, {baseDir: '.', env: {AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString}, blockSize: BLOCK, concurrency: CONCURRENCY}),
    )
  })
  after(async () => {
    await store?.close()
    await azurite?.dispose()
  })

  it(`moves ${SIZE / MiB} MiB up and down within ~blockSize x concurrency of memory`, async () => {
    const bound = BLOCK * (CONCURRENCY + 1) * 3 + 16 * MiB
    const sent = createHash('sha256')
    let progress = 0
    const up = await peakDuring(() => store.put('big', sendOnce(generated(sent)), {onProgress: (bytes) => (progress = bytes)}))
    assert.equal(progress, SIZE)
    assert.equal((await store.stat('big'))?.size, SIZE)

    const received = createHash('sha256')
    let got = 0
    const down = await peakDuring(async () => {
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          received.update(chunk)
          got += chunk.length
          done()
        },
      })
      await pipeline(await store.get('big'), sink)
    })
    assert.equal(got, SIZE)
    assert.equal(received.digest('hex'), sent.digest('hex'), 'the bytes read back are the bytes written')
    const report = `upload ${(up.buffers / MiB).toFixed(1)} MiB buffers, ${(up.rss / MiB).toFixed(1)} MiB rss; download ${(down.buffers / MiB).toFixed(1)} MiB buffers, ${(down.rss / MiB).toFixed(1)} MiB rss; bound ${bound / MiB} MiB`
    console.log(report)
    assert.ok(up.buffers < bound && down.buffers < bound, report)
    // RSS is noisier (allocator, heap growth) but must stay well below the object size.
    assert.ok(up.rss < SIZE / 2 && down.rss < SIZE / 2, report)
  })
})
