// A network model for the bench: a TCP proxy on 127.0.0.1 in front of a server (Azurite) that
// shapes what passes through it, so a "remote" store on the same machine behaves like one across
// a link. Per direction: a bandwidth shared by every connection (a token bucket in virtual time),
// a one-way delay of half the round trip on every byte, and optionally a cap per connection.
// A new connection also pays one round trip before its first byte goes out (the TCP handshake).
// Left out: loss, jitter, reordering, TCP slow start and window limits, TLS, server-side latency.
import * as net from 'node:net'
import {createRequire} from 'node:module'
import * as os from 'node:os'
import {performance} from 'node:perf_hooks'
import {pathToFileURL} from 'node:url'
import {isMainThread, parentPort, Worker, workerData} from 'node:worker_threads'

export interface NetworkProfile {
  name: string
  /** Bandwidth of the link, bits per second, in each direction. */
  bitsPerS: number
  /** Round-trip time the link adds, ms (half of it on each direction). */
  rttMs: number
  /** Optional cap per connection, bits per second, in each direction. */
  perConnectionBitsPerS?: number
}

export const PROFILES: Record<string, NetworkProfile> = {
  lan: {name: 'lan', bitsPerS: 10e9, rttMs: 0.2},
  cloud: {name: 'cloud', bitsPerS: 1e9, rttMs: 2},
  wan: {name: 'wan', bitsPerS: 200e6, rttMs: 20},
}

/** No proxy: the client talks to Azurite directly. */
export const SAME_MACHINE = 'same-machine'

const UNITS: Record<string, number> = {bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9}

function bitRate(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(bit|kbit|mbit|gbit)$/i.exec(text.trim())
  if (!m || Number(m[1]) <= 0) throw new Error(`${what} ${text}: not a rate (e.g. 200Mbit, 1Gbit)`)
  return Number(m[1]) * UNITS[m[2].toLowerCase()]
}

/** A profile by name (lan, cloud, wan), or RATE/RTT[/PER_CONNECTION] such as 500Mbit/10ms/100Mbit. */
export function parseProfile(text: string): NetworkProfile | undefined {
  if (text === SAME_MACHINE) return undefined
  if (PROFILES[text]) return PROFILES[text]
  const [rate, rtt, cap, ...rest] = text.split('/')
  const ms = /^(\d+(?:\.\d+)?)\s*ms$/i.exec(rtt?.trim() ?? '')
  if (!rate || !ms || rest.length > 0) throw new Error(`network ${text}: use ${SAME_MACHINE}, ${Object.keys(PROFILES).join(', ')} or RATE/RTT[/PER_CONNECTION] (e.g. 500Mbit/10ms/100Mbit)`)
  const profile: NetworkProfile = {name: text, bitsPerS: bitRate(rate, 'network rate'), rttMs: Number(ms[1])}
  if (cap) profile.perConnectionBitsPerS = bitRate(cap, 'per-connection cap')
  return profile
}

export function describeProfile(p: NetworkProfile | undefined): string {
  if (!p) return `${SAME_MACHINE} (Azurite on 127.0.0.1, no network model)`
  const rate = (b: number) => (b >= 1e9 ? `${b / 1e9} Gbit/s` : `${b / 1e6} Mbit/s`)
  return `${p.name} (${rate(p.bitsPerS)} each way, ${p.rttMs} ms round trip${p.perConnectionBitsPerS ? `, ${rate(p.perConnectionBitsPerS)} per connection` : ''})`
}

/** A token bucket kept as the time its debt is paid off: at most `burst` bytes go out at once. */
export class Pacer {
  private freeAt = 0
  constructor(
    private readonly bytesPerMs: number,
    private readonly burstBytes: number,
  ) {}

  /** Takes n bytes offered at `now` (ms); returns when their last byte has left. */
  reserve(n: number, now: number): number {
    const start = Math.max(this.freeAt, now - this.burstBytes / this.bytesPerMs)
    this.freeAt = start + n / this.bytesPerMs
    return this.freeAt
  }
}

const BURST_BYTES = 64 * 1024
// Deliveries due this close are made now: Node's timers do not resolve finer than about 1 ms.
const SLACK_MS = 0.25

export interface LinkStats {
  connections: number
  /** Bytes from the clients to the server. */
  bytesUp: number
  /** Bytes from the server to the clients. */
  bytesDown: number
  /** Time the proxy's event loop was busy, ms (what the model itself cost in CPU, about). */
  busyMs: number
}

/** One direction of one connection: what came in, held until the link has carried it. */
class Lane {
  private readonly queue: Array<{chunk?: Buffer; due: number}> = []
  private queued = 0
  private timer: NodeJS.Timeout | undefined
  private blocked = false

  constructor(
    private readonly src: net.Socket,
    private readonly dst: net.Socket,
    private readonly link: Pacer,
    private readonly cap: Pacer | undefined,
    private readonly oneWayMs: number,
    private readonly limitBytes: number,
    private readonly notBefore: number,
    private readonly count: (n: number) => void,
  ) {
    src.on('data', (chunk: Buffer) => this.take(chunk))
    src.on('end', () => this.push(undefined, performance.now()))
    dst.on('drain', () => {
      this.blocked = false
      this.flush()
    })
  }

  private take(chunk: Buffer): void {
    const now = Math.max(performance.now(), this.notBefore)
    let sent = this.link.reserve(chunk.length, now)
    if (this.cap) sent = Math.max(sent, this.cap.reserve(chunk.length, now))
    this.queued += chunk.length
    if (this.queued >= this.limitBytes) this.src.pause()
    this.push(chunk, Math.max(sent, now))
  }

  private push(chunk: Buffer | undefined, sent: number): void {
    const last = this.queue.length > 0 ? this.queue[this.queue.length - 1].due : 0
    this.queue.push({chunk, due: Math.max(sent + this.oneWayMs, last)})
    this.flush()
  }

  private flush(): void {
    if (this.timer || this.blocked) return
    const now = performance.now()
    while (this.queue.length > 0 && this.queue[0].due <= now + SLACK_MS) {
      const {chunk} = this.queue.shift()!
      if (!chunk) {
        this.dst.end()
        continue
      }
      this.queued -= chunk.length
      this.count(chunk.length)
      if (!this.dst.write(chunk)) {
        this.blocked = true
        break
      }
    }
    if (this.queued < this.limitBytes && this.src.isPaused()) this.src.resume()
    if (this.queue.length > 0 && !this.blocked) {
      this.timer = setTimeout(() => {
        this.timer = undefined
        this.flush()
      }, this.queue[0].due - now)
    }
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.queue.length = 0
  }
}

export interface NetemProxy {
  port: number
  profile: NetworkProfile
  stats(): Promise<LinkStats>
  close(): Promise<void>
}

interface Served {
  port: number
  stats(): LinkStats
  close(): Promise<void>
}

/** The proxy in this thread, on 127.0.0.1 (a free port), in front of 127.0.0.1:targetPort. */
export async function serveNetem(targetPort: number, profile: NetworkProfile): Promise<Served> {
  const bytesPerMs = (bps: number) => bps / 8 / 1000
  const up = new Pacer(bytesPerMs(profile.bitsPerS), BURST_BYTES)
  const down = new Pacer(bytesPerMs(profile.bitsPerS), BURST_BYTES)
  const oneWayMs = profile.rttMs / 2
  // Enough in flight to keep the link busy (twice the bandwidth-delay product, at least 1 MiB).
  const limitBytes = Math.max(1024 * 1024, Math.ceil(2 * bytesPerMs(profile.bitsPerS) * profile.rttMs))
  const stats = {connections: 0, bytesUp: 0, bytesDown: 0}
  const sockets = new Set<net.Socket>()
  const server = net.createServer({allowHalfOpen: true}, (client) => {
    stats.connections++
    const upstream = net.connect({host: '127.0.0.1', port: targetPort, allowHalfOpen: true})
    for (const s of [client, upstream]) {
      s.setNoDelay(true)
      sockets.add(s)
    }
    // The handshake: nothing leaves the client before one round trip has passed.
    const opened = performance.now() + profile.rttMs
    const perConnection = (bps: number | undefined) => (bps ? new Pacer(bytesPerMs(bps), BURST_BYTES) : undefined)
    const lanes = [
      new Lane(client, upstream, up, perConnection(profile.perConnectionBitsPerS), oneWayMs, limitBytes, opened, (n) => (stats.bytesUp += n)),
      new Lane(upstream, client, down, perConnection(profile.perConnectionBitsPerS), oneWayMs, limitBytes, 0, (n) => (stats.bytesDown += n)),
    ]
    const teardown = () => {
      for (const lane of lanes) lane.close()
      client.destroy()
      upstream.destroy()
    }
    for (const s of [client, upstream]) {
      s.on('error', teardown)
      s.on('close', () => {
        sockets.delete(s)
        // A side that went away before the other finished: the connection is gone (a reset).
        if (!s.readableEnded || !s.writableFinished) teardown()
      })
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  return {
    port: (server.address() as net.AddressInfo).port,
    stats: () => ({...stats, busyMs: performance.eventLoopUtilization().active}),
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/**
 * Starts the proxy on a worker thread that raises its own priority (nice -10, when allowed): the
 * modelled link does not run on the host's CPU, so the other work on a loaded machine (the client,
 * Azurite, other processes) should not slow it. Children spawned by the main thread keep theirs.
 */
export async function startNetemProxy(targetPort: number, profile: NetworkProfile): Promise<NetemProxy> {
  // Workers do not inherit tsx's loader on Node 20: the worker registers it, then loads this file.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href.replace(/\.cjs$/, '.mjs')
  const boot = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(import.meta.url)}) })`
  const worker = new Worker(boot, {eval: true, workerData: {netem: {targetPort, profile}}})
  const ask = <T>(message: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: {type: string; value: T}) => {
        if (m.type !== message) return
        worker.off('message', onMessage)
        worker.off('error', reject)
        resolve(m.value)
      }
      worker.on('message', onMessage)
      worker.once('error', reject)
      if (message !== 'ready') worker.postMessage(message)
    })
  const port = await ask<number>('ready')
  return {
    port,
    profile,
    stats: () => ask<LinkStats>('stats'),
    async close() {
      await ask('closed').catch(() => {})
      await worker.terminate()
    },
  }
}

if (!isMainThread && workerData?.netem) {
  const {targetPort, profile} = workerData.netem as {targetPort: number; profile: NetworkProfile}
  try {
    os.setPriority(0, -10)
  } catch {
    // Not allowed (not root): the link then competes for the CPU like everything else.
  }
  const served = await serveNetem(targetPort, profile)
  parentPort!.on('message', async (m: string) => {
    if (m === 'stats') parentPort!.postMessage({type: 'stats', value: served.stats()})
    if (m === 'closed') {
      await served.close()
      parentPort!.postMessage({type: 'closed', value: null})
    }
  })
  parentPort!.postMessage({type: 'ready', value: served.port})
}
