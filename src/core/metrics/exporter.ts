// Where `ckpt run`'s metrics go: an HTTP endpoint for Prometheus to scrape (/metrics), and a file
// for node_exporter's textfile collector, replaced whole (temp file, then rename) so it never
// reads half of one.
import {randomBytes} from 'node:crypto'
import * as fs from 'node:fs/promises'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import * as path from 'node:path'
import type {Registry} from 'prom-client'
import {UsageError, messageOf} from '../errors.js'

/** `PORT` (every interface) or `HOST:PORT`. */
export function parseListen(value: string): {host: string; port: number} {
  const match = /^(?:(.*):)?(\d{1,5})$/.exec(value)
  const port = Number(match?.[2])
  if (!match || port > 65535) throw new UsageError(`metrics address ${JSON.stringify(value)}: give a port, e.g. 9464, or HOST:PORT, e.g. 127.0.0.1:9464`)
  return {host: match[1]?.replace(/^\[(.*)\]$/, '$1') || '::', port}
}

export interface MetricsServer {
  /** The address it listens on, for the log. */
  url: string
  close(): Promise<void>
}

export async function serveMetrics(registry: Registry, listen: {host: string; port: number}): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, {'content-type': 'text/plain'}).end('ckpt serves /metrics only\n')
      return
    }
    registry.metrics().then(
      (text) => res.writeHead(200, {'content-type': registry.contentType}).end(text),
      (error) => res.writeHead(500, {'content-type': 'text/plain'}).end(`${messageOf(error)}\n`),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new UsageError(`metrics endpoint: cannot listen on ${listen.host}:${listen.port} (${error.code ?? messageOf(error)})`, {cause: error})),
    )
    server.listen(listen.port, listen.host, resolve)
  })
  server.unref()
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${host}:${address.port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** Writes the exposition to `file` atomically: a temp file beside it, then a rename. */
export async function writeMetricsFile(registry: Registry, file: string): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    await fs.writeFile(temp, await registry.metrics(), {mode: 0o644})
    await fs.rename(temp, file)
  } catch (error) {
    await fs.rm(temp, {force: true})
    throw error
  }
}

/** Rewrites the file on every change and every `everyMs` (the age moves on); one write at a time. */
export function metricsFileWriter(registry: Registry, file: string, onWarning: (message: string) => void, everyMs = 10_000): {changed(): void; close(): Promise<void>} {
  let writing: Promise<void> = Promise.resolve()
  let again = false
  let warned = false
  const write = () => {
    if (again) return
    again = true
    writing = writing.then(async () => {
      again = false
      await writeMetricsFile(registry, file).catch((error) => {
        if (!warned) onWarning(`metrics file ${file}: ${messageOf(error)}; the run goes on`)
        warned = true
      })
    })
  }
  const timer = setInterval(write, everyMs)
  timer.unref()
  write()
  return {
    changed: write,
    async close() {
      clearInterval(timer)
      write()
      await writing
    },
  }
}
