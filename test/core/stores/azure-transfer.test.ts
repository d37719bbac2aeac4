// streamRange against a real HTTP server on 127.0.0.1 that breaks or stalls its bodies.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {createServer, get, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import type {Readable} from 'node:stream'
import {after, before, describe, it} from 'node:test'
import {streamRange} from '../../../src/core/stores/azure-transfer.js'
import {TransientStoreError} from '../../../src/core/errors.js'

const DATA = randomBytes(256 << 10)

/** How the server answers request number n (0-based) for bytes [at, DATA.length). */
type Behaviour = (n: number, at: number, res: ServerResponse) => void
const whole: Behaviour = (_n, at, res) => res.end(DATA.subarray(at))
/** Sends `bytes` of the body, then cuts the connection (or keeps it open, silent). */
const partial = (bytes: number, then: 'cut' | 'stall'): Behaviour => (_n, at, res) => {
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
