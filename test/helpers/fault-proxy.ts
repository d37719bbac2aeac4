// A fault-injecting HTTP proxy on 127.0.0.1 in front of Azurite (or any HTTP server). Each rule
// matches requests by method and URL (path and query) and, for a number of them, does one fault:
//  - 'reset-after-answer': forwards the request, lets the server answer it whole (the request was
//    committed), then resets the client's connection, so the answer is lost;
//  - {status: 503, retryAfter}: answers 503 with a Retry-After header without forwarding;
//  - 'stall': holds the request without answering (until `ms` passes, then forwards; or for ever).
// Requests that match no rule are forwarded untouched. Every request is logged with its fault.
import {createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo, Socket} from 'node:net'

export type Fault = 'reset-after-answer' | {status: number; retryAfter?: string; code?: string} | {stall: true; ms?: number}

export interface FaultRule {
  /** HTTP method to match, e.g. 'PUT'; any when omitted. */
  method?: string
  /** Matched against the request URL (path and query): a substring or a regular expression. */
  url?: string | RegExp
  /** Matching requests let through untouched before the fault starts. */
  skip?: number
  /** Matching requests that get the fault (after `skip`); default 1, Infinity for all. */
  times?: number
  fault: Fault
}

export interface ActiveRule extends FaultRule {
  /** Matching requests seen so far (skipped ones included). */
  seen: number
  /** Requests that got the fault. */
  hits: number
}

export interface LoggedRequest {
  method: string
  url: string
  at: number
  fault?: string
}

export class FaultProxy {
  readonly log: LoggedRequest[] = []
  private rules: ActiveRule[] = []
  private readonly sockets = new Set<Socket>()
  private readonly stalled = new Set<ServerResponse>()

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly upstreamPort: number,
  ) {}

  /** Starts a proxy on a free port of 127.0.0.1 that forwards to 127.0.0.1:upstreamPort. */
  static async start(upstreamPort: number): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined
    const server = createServer((req, res) => proxy!.handle(req, res))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    proxy = new FaultProxy(server, (server.address() as AddressInfo).port, upstreamPort)
    server.on('connection', (socket) => {
      proxy!.sockets.add(socket)
      socket.once('close', () => proxy!.sockets.delete(socket))
    })
    return proxy
  }

  /** The same connection string with its endpoint moved to the proxy. */
  via(connectionString: string): string {
    return connectionString.replace(`127.0.0.1:${this.upstreamPort}/`, `127.0.0.1:${this.port}/`)
  }

  /** Adds a rule; the returned object counts its hits. */
  add(rule: FaultRule): ActiveRule {
    const active: ActiveRule = {times: 1, skip: 0, ...rule, seen: 0, hits: 0}
    this.rules.push(active)
    return active
  }

  /** Removes every rule; stalled requests stay stalled. */
  clear(): void {
    this.rules = []
  }

  /** Logged requests of one method whose URL matches. */
  requests(method: string, url: string | RegExp): LoggedRequest[] {
    return this.log.filter((r) => r.method === method && matches(r.url, url))
  }

  async close(): Promise<void> {
    for (const res of this.stalled) res.destroy()
    for (const socket of this.sockets) socket.destroy()
    await new Promise((resolve) => this.server.close(resolve))
  }

  private pick(req: IncomingMessage): ActiveRule | undefined {
    for (const rule of this.rules) {
      if (rule.method !== undefined && rule.method !== req.method) continue
      if (rule.url !== undefined && !matches(req.url ?? '', rule.url)) continue
      rule.seen++
      if (rule.seen <= rule.skip! || rule.hits >= rule.times!) continue
      rule.hits++
      return rule
    }
    return undefined
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const rule = this.pick(req)
    const fault = rule?.fault
    const entry: LoggedRequest = {method: req.method ?? '', url: req.url ?? '', at: Date.now(), fault: fault === undefined ? undefined : describe(fault)}
    this.log.push(entry)
    if (fault === undefined) return this.forward(req, res, false)
    if (fault === 'reset-after-answer') return this.forward(req, res, true)
    if ('stall' in fault) {
      this.stalled.add(res)
      res.once('close', () => this.stalled.delete(res))
      if (fault.ms !== undefined) setTimeout(() => !res.destroyed && this.forward(req, res, false), fault.ms)
      return
    }
    // The body is read first, so the client is not cut off while it still sends.
    req.resume()
    req.once('end', () => {
      const code = fault.code ?? (fault.status === 503 ? 'ServerBusy' : 'InternalError')
      const body = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>injected by the fault proxy</Message></Error>`
      res.writeHead(fault.status, {
        'content-type': 'application/xml',
        'content-length': Buffer.byteLength(body),
        'x-ms-error-code': code,
        ...(fault.retryAfter === undefined ? {} : {'retry-after': fault.retryAfter}),
      })
      res.end(body)
    })
  }

  private forward(req: IncomingMessage, res: ServerResponse, resetAfterAnswer: boolean): void {
    const upstream = httpRequest({host: '127.0.0.1', port: this.upstreamPort, method: req.method, path: req.url, headers: req.headers}, (answer) => {
      if (resetAfterAnswer) {
        // The server has answered: the request took effect. Read the answer whole, then cut the client off.
        answer.resume()
        answer.once('end', () => resetSocket(req.socket))
        return
      }
      res.writeHead(answer.statusCode ?? 500, answer.headers)
      answer.pipe(res)
    })
    upstream.on('error', () => resetSocket(req.socket))
    req.pipe(upstream)
  }
}

function matches(url: string, pattern: string | RegExp): boolean {
  return typeof pattern === 'string' ? url.includes(pattern) : pattern.test(url)
}

function describe(fault: Fault): string {
  if (typeof fault === 'string') return fault
  return 'stall' in fault ? `stall${fault.ms === undefined ? '' : ` ${fault.ms}ms`}` : `${fault.status}${fault.retryAfter === undefined ? '' : ` retry-after ${fault.retryAfter}`}`
}

/** A TCP reset (RST), not a clean close: the client sees ECONNRESET. */
function resetSocket(socket: Socket): void {
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy()
  else socket.destroy()
}
