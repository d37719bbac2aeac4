// streamRange against a real HTTP server on 127.0.0.1 that breaks or stalls its bodies.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {createServer, get, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {Readable} from 'node:stream'
import {after, before, describe, it} from 'node:test'
import {stageBlocks, streamRange} from '../../../src/core/stores/azure-transfer.js'
import {TransientStoreError} from '../../../src/core/errors.js'

const DATA = randomBytes(256 << 10)

/** How the server answers request number n (0-based) for bytes [at, DATA.length). */
type Behaviour = (n: number, at: number, res: ServerResponse) => void
const whole: Behaviour = (_n, at, res) => res.end(DATA.subarray(at))
/** Sends `bytes` of the body, then cuts the connection (or keeps it open, silent). */
const partial =
  (bytes: number, then: 'cut' | 'stall'): Behaviour =>
  (_n, at, res) => {
    res.flushHeaders()
    res.write(DATA.subarray(at, at + bytes), () => {
      if (then === 'cut') setTimeout(() => res.destroy(), 20)
    })
  }

describe('streamRange', () => {
  let server: Server
  let port = 0
  let behaviour: Behaviour = whole
  let requests: number[] = []

  before(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const at = Number(/bytes=(\d+)-/.exec(req.headers.range ?? '')?.[1] ?? 0)
      requests.push(at)
      res.writeHead(206, {'content-length': DATA.length - at})
      behaviour(requests.length - 1, at, res)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  })
  after(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })

  function range(options: {stallMs?: number; closing?: AbortSignal; onProgress?: (bytes: number) => void} = {}) {
    requests = []
    return streamRange({
      start: 0,
      end: DATA.length,
      stallMs: options.stallMs ?? 5000,
      closing: options.closing ?? new AbortController().signal,
      onProgress: options.onProgress,
      open: (at) => new Promise<{body: Readable}>((resolve, reject) => get({host: '127.0.0.1', port, headers: {range: `bytes=${at}-`}}, (body) => resolve({body})).on('error', reject)),
      failure: (error, at) => new TransientStoreError(`broke at ${at}: ${(error as Error).message}`),
    })
  }

  async function collect(chunks: AsyncIterable<Buffer>, hold = 0): Promise<Buffer> {
    const parts: Buffer[] = []
    for await (const chunk of chunks) {
      parts.push(chunk)
      if (hold) await new Promise((resolve) => setTimeout(resolve, hold))
    }
    return Buffer.concat(parts)
  }

  it('streams the range as it comes', async () => {
    behaviour = whole
    let progress = 0
    assert.deepEqual(await collect(range({onProgress: (bytes) => (progress = bytes)})), DATA)
    assert.deepEqual(requests, [0])
    assert.equal(progress, DATA.length)
  })

  it('resumes a cut body from the last byte received', async () => {
    behaviour = (n, at, res) => (n === 0 ? partial(100_000, 'cut')(n, at, res) : whole(n, at, res))
    assert.deepEqual(await collect(range()), DATA)
    assert.deepEqual(requests, [0, 100_000])
  })

  it('resumes a body that stalls, but not because the consumer holds a chunk', async () => {
    behaviour = (n, at, res) => (n === 0 ? partial(50_000, 'stall')(n, at, res) : whole(n, at, res))
    assert.deepEqual(await collect(range({stallMs: 300})), DATA)
    assert.deepEqual(requests, [0, 50_000])
    behaviour = whole
    assert.deepEqual(await collect(range({stallMs: 300}), 400), DATA)
    assert.deepEqual(requests, [0], 'a slow consumer is not a stalled server')
  })

  it('fails once the body has broken more often than it may be resumed', async () => {
    behaviour = partial(10_000, 'cut')
    await assert.rejects(collect(range()), (error: Error) => error instanceof TransientStoreError && /^broke at 40000/.test(error.message))
    assert.deepEqual(requests, [0, 10_000, 20_000, 30_000])
  })

  it('stops when the store closes', async () => {
    behaviour = partial(10_000, 'stall')
    const closing = new AbortController()
    const chunks = range({closing: closing.signal})
    const first = await chunks.next()
    assert.equal(first.done, false)
    closing.abort()
    await assert.rejects(collect({[Symbol.asyncIterator]: () => chunks}), TransientStoreError)
    assert.equal(requests.length, 1)
  })
})

describe('stageBlocks', () => {
  const source = (blocks: number, size: number) => Readable.from(Array.from({length: blocks}, (_, i) => Buffer.alloc(size, i)))

  it('stages every block under its own number, at most `concurrency` at a time', async () => {
    const staged = new Map<number, number>()
    let running = 0
    let most = 0
    const result = await stageBlocks(source(10, 1024), {
      blockSize: 1024,
      concurrency: 3,
      stage: async (index, block) => {
        most = Math.max(most, ++running)
        await new Promise((resolve) => setTimeout(resolve, 5 + (index % 3) * 5))
        staged.set(index, block[0])
        running--
      },
    })
    assert.equal(result.blocks, 10)
    assert.deepEqual(
      [...staged].sort((a, b) => a[0] - b[0]),
      Array.from({length: 10}, (_, i) => [i, i]),
    )
    assert.equal(most, 3)
  })

  it('starts no stage after one failed, and waits for those in flight before it rejects', async () => {
    let inFlight = 0
    const started: number[] = []
    const outcome = stageBlocks(source(20, 1024), {
      blockSize: 1024,
      concurrency: 4,
      stage: async (index) => {
        started.push(index)
        inFlight++
        try {
          if (index === 2) throw new TransientStoreError('block 2 failed')
          await new Promise((resolve) => setTimeout(resolve, 30))
        } finally {
          inFlight--
        }
      },
    })
    await assert.rejects(outcome, /block 2 failed/)
    assert.equal(inFlight, 0, 'no stage is still running')
    const count = started.length
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(started.length, count, 'no stage starts afterwards')
    assert.ok(count <= 4, `stages started: ${started.join(',')}`)
  })
})
