// The bench's network model (bench/lib/netem-proxy.ts), measured: a transfer through it runs at
// the profile's rate (within 10%) in each direction, connections share the link, a per-connection
// cap holds, and every request sees the round trip. Real sockets on 127.0.0.1; the rate is a small
// test-only one (80 Mbit/s = 10 MB/s) so that a loaded 2-core machine still keeps up with it.
import assert from 'node:assert/strict'
import * as http from 'node:http'
import * as net from 'node:net'
import {after, before, describe, it} from 'node:test'
import {performance} from 'node:perf_hooks'
import {parseProfile, startNetemProxy, type NetemProxy, type NetworkProfile} from '../../bench/lib/netem-proxy.js'

const MB = 1e6
const RATE = 80e6 // bits per second
const BYTES = 20 * MB // two seconds at RATE: enough that start-up and timer jitter are noise

/** A server that, per connection, sends `download` bytes, or counts what comes in and answers "ok". */
async function bulkServer(): Promise<{port: number; close(): Promise<void>}> {
  const server = net.createServer({allowHalfOpen: true}, (socket) => {
    socket.once('data', (first) => {
      const [verb, n] = first.toString().split(' ')
      if (verb === 'down') {
        const block = Buffer.alloc(64 * 1024, 7)
        let left = Number(n)
        const pump = () => {
          while (left > 0) {
            const piece = block.subarray(0, Math.min(block.length, left))
            left -= piece.length
            if (!socket.write(piece)) return void socket.once('drain', pump)
          }
          socket.end()
        }
        pump()
      } else {
        let got = first.length
        socket.on('data', (d: Buffer) => (got += d.length))
        socket.on('end', () => socket.end(`ok ${got}`))
      }
    })
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {port: (server.address() as net.AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve()))}
}

/** Downloads n bytes through the proxy; resolves with the ms from connect to the last byte. */
function download(port: number, n: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    let got = 0
    const s = net.connect({host: '127.0.0.1', port}, () => s.write(`down ${n} `))
    s.on('data', (d: Buffer) => (got += d.length))
    s.on('end', () => (got === n ? resolve(performance.now() - started) : reject(new Error(`got ${got} of ${n} bytes`))))
    s.on('error', reject)
  })
}

/** Uploads n bytes through the proxy; resolves with the ms from connect to the server's answer. */
function upload(port: number, n: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    let answer = ''
    const s = net.connect({host: '127.0.0.1', port}, () => {
      const block = Buffer.alloc(64 * 1024, 9)
      block.write('up ')
      let left = n
      const pump = () => {
        while (left > 0) {
          const piece = block.subarray(0, Math.min(block.length, left))
          left -= piece.length
          if (!s.write(piece)) return void s.once('drain', pump)
        }
        s.end()
      }
      pump()
    })
    s.on('data', (d: Buffer) => (answer += d))
    s.on('end', () => (answer === `ok ${n}` ? resolve(performance.now() - started) : reject(new Error(`server answered ${answer}`))))
    s.on('error', reject)
  })
}

/** Throughput in bits per second, the handshake and one round trip taken out. */
const bitsPerS = (bytes: number, ms: number, profile: NetworkProfile) => (bytes * 8) / ((ms - 2 * profile.rttMs) / 1000)

function assertRate(t: {diagnostic(m: string): void}, measured: number, want: number, what: string): void {
  const ratio = measured / want
  t.diagnostic(`${what}: ${(measured / 1e6).toFixed(1)} Mbit/s (ratio ${ratio.toFixed(3)})`)
  assert.ok(Math.abs(ratio - 1) <= 0.1, `${what}: ${(measured / 1e6).toFixed(1)} Mbit/s, want ${(want / 1e6).toFixed(1)} Mbit/s ± 10% (ratio ${ratio.toFixed(3)})`)
}

describe('bench network model (netem proxy)', () => {
  let server: Awaited<ReturnType<typeof bulkServer>>
  const proxies: NetemProxy[] = []
  const proxy = async (profile: NetworkProfile) => {
    const p = await startNetemProxy(server.port, profile)
    proxies.push(p)
    return p
  }
  before(async () => {
    server = await bulkServer()
  })
  after(async () => {
    for (const p of proxies) await p.close()
    await server.close()
  })

  it('reads profiles by name and as RATE/RTT[/CAP]', () => {
    assert.deepEqual(parseProfile('cloud'), {name: 'cloud', bitsPerS: 1e9, rttMs: 2})
    assert.equal(parseProfile('lan')!.rttMs, 0.2)
    assert.equal(parseProfile('wan')!.bitsPerS, 200e6)
    assert.equal(parseProfile('same-machine'), undefined)
    assert.deepEqual(parseProfile('500Mbit/10ms/100Mbit'), {name: '500Mbit/10ms/100Mbit', bitsPerS: 500e6, rttMs: 10, perConnectionBitsPerS: 100e6})
    assert.throws(() => parseProfile('fast'), /use same-machine, lan, cloud, wan or RATE\/RTT/)
    assert.throws(() => parseProfile('1Gbyte/2ms'), /not a rate/)
  })

  it('carries a transfer at the profile rate in each direction, both at once', {timeout: 60_000}, async (t) => {
    const profile = {name: 'test', bitsPerS: RATE, rttMs: 2}
    const p = await proxy(profile)
    const [downMs, upMs] = await Promise.all([download(p.port, BYTES), upload(p.port, BYTES)])
    assertRate(t, bitsPerS(BYTES, downMs, profile), RATE, 'download')
    assertRate(t, bitsPerS(BYTES, upMs, profile), RATE, 'upload')
    const stats = await p.stats()
    assert.equal(stats.connections, 2)
    assert.ok(stats.bytesDown >= BYTES && stats.bytesUp >= BYTES, JSON.stringify(stats))
  })

  it('shares the bandwidth between connections, and caps each one when asked', {timeout: 60_000}, async (t) => {
    const shared = {name: 'test', bitsPerS: RATE, rttMs: 2}
    const p = await proxy(shared)
    const started = performance.now()
    await Promise.all(Array.from({length: 4}, () => download(p.port, BYTES / 4)))
    assertRate(t, bitsPerS(BYTES, performance.now() - started, shared), RATE, 'four downloads together')
    const capped = {name: 'test-capped', bitsPerS: 10 * RATE, rttMs: 2, perConnectionBitsPerS: RATE / 2}
    const c = await proxy(capped)
    assertRate(t, bitsPerS(BYTES / 2, await download(c.port, BYTES / 2), capped), RATE / 2, 'one capped connection')
  })

  it('adds the round trip to every request, and one more to a new connection', {timeout: 60_000}, async (t) => {
    const web = http.createServer((req, res) => res.end('pong'))
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve))
    try {
      for (const rttMs of [2, 30]) {
        const p = await startNetemProxy((web.address() as net.AddressInfo).port, {name: 'test', bitsPerS: 1e9, rttMs})
        proxies.push(p)
        const agent = new http.Agent({keepAlive: true, maxSockets: 1})
        const get = () =>
          new Promise<number>((resolve, reject) => {
            const started = performance.now()
            http
              .get({host: '127.0.0.1', port: p.port, path: '/', agent}, (res) => {
                res.resume()
                res.on('end', () => resolve(performance.now() - started))
              })
              .on('error', reject)
          })
        const first = await get()
        const times: number[] = []
        for (let i = 0; i < 20; i++) times.push(await get())
        agent.destroy()
        // Each direction may deliver up to 0.25 ms early (timer resolution), never more.
        t.diagnostic(`rtt ${rttMs} ms: first request ${first.toFixed(2)} ms, then ${times.map((x) => x.toFixed(1)).join(', ')}`)
        assert.ok(first >= 2 * rttMs - 0.5, `rtt ${rttMs} ms: the first request (new connection) took ${first.toFixed(2)} ms, want ≥ ${2 * rttMs} ms`)
        for (const t of times) assert.ok(t >= rttMs - 0.5, `rtt ${rttMs} ms: a request took ${t.toFixed(2)} ms: ${times.map((x) => x.toFixed(1)).join(', ')}`)
        const sorted = [...times].sort((a, b) => a - b)
        const median = sorted[sorted.length >> 1]
        assert.ok(median < rttMs + 10, `rtt ${rttMs} ms: median request ${median.toFixed(2)} ms: ${times.map((x) => x.toFixed(1)).join(', ')}`)
        assert.equal((await p.stats()).connections, 1)
      }
    } finally {
      await new Promise((resolve) => web.close(resolve))
    }
  })
})
