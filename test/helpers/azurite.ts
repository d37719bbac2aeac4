// Starts Azurite's blob service (the real Azure Storage emulator from npm) on 127.0.0.1 with a
// temp folder. It can stop and start again on the same port, for "server goes away" fault tests.
// If it cannot start, this throws: the suite fails, it never skips.
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtemp, rm} from 'node:fs/promises'
import {request} from 'node:http'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import * as path from 'node:path'

/** The well-known development account of Azurite; public, not a secret. */
export const AZURITE_ACCOUNT = 'devstoreaccount1'
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

const require = createRequire(import.meta.url)
const BLOB_MAIN = path.join(path.dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'blob', 'main.js')
const START_TIMEOUT_MS = 20_000
// Azurite exits by itself when the test process dies without its 'exit' handlers (a killed runner).
const ORPHAN_WATCH = `data:text/javascript,${encodeURIComponent('const parent = process.ppid; setInterval(() => { if (process.ppid !== parent) process.exit(0) }, 1000).unref()')}`

export class Azurite {
  private child: ChildProcess | undefined
  private stderr = ''

  private constructor(
    readonly location: string,
    public port: number,
  ) {}

  /** Starts a fresh Azurite on a free port (or the given one) with its own temp folder. */
  static async start(port = 0): Promise<Azurite> {
    const location = await mkdtemp(path.join(tmpdir(), 'ckpt-azurite-'))
    const server = new Azurite(location, port)
    try {
      await server.start()
    } catch (error) {
      await rm(location, {recursive: true, force: true})
      throw error
    }
    return server
  }

  get running(): boolean {
    return this.child !== undefined
  }

  get blobEndpoint(): string {
    return `http://127.0.0.1:${this.port}/${AZURITE_ACCOUNT}`
  }

  get connectionString(): string {
    return `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${this.blobEndpoint};`
  }

  /** Starts the server again on the same port and folder (the data survives a stop()). */
  async start(): Promise<void> {
    if (this.child) return
    const args = [
      '--import',
      ORPHAN_WATCH,
      BLOB_MAIN,
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(this.port),
      '--location',
      this.location,
      '--skipApiVersionCheck',
      '--disableTelemetry',
      '--loose',
      '--silent',
    ]
    const child = spawn(process.execPath, args, {stdio: ['ignore', 'pipe', 'pipe']})
    this.stderr = ''
    child.stderr!.on('data', (data: Buffer) => (this.stderr = (this.stderr + data.toString()).slice(-4000)))
    const exitOnParent = () => child.kill('SIGKILL')
    process.once('exit', exitOnParent)
    child.once('exit', () => process.removeListener('exit', exitOnParent))
    const port = await new Promise<number>((resolve, reject) => {
      let out = ''
      const done = (error?: Error, port?: number) => {
        clearTimeout(timer)
        child.removeListener('error', onError)
        child.removeListener('exit', onExit)
        child.stdout!.removeListener('data', onData)
        if (error) {
          child.kill('SIGKILL')
          reject(new Error(`${error.message}\n${out}\n${this.stderr}`))
        } else resolve(port!)
      }
      const onError = (error: Error) => done(error)
      const onExit = (code: number | null, signal: string | null) => done(new Error(`Azurite exited (code ${code}, signal ${signal}) while starting`))
      const onData = (data: Buffer) => {
        out += data.toString()
        const match = /listens on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)
        if (match) done(undefined, Number(match[1]))
      }
      const timer = setTimeout(() => done(new Error(`Azurite did not start within ${START_TIMEOUT_MS / 1000}s`)), START_TIMEOUT_MS)
      child.once('error', onError)
      child.once('exit', onExit)
      child.stdout!.on('data', onData)
    })
    child.stdout!.resume()
    this.child = child
    this.port = port
    await this.waitUntilAnswering()
  }

  private async waitUntilAnswering(): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS
    for (;;) {
      const status = await new Promise<number | undefined>((resolve) => {
        const req = request({host: '127.0.0.1', port: this.port, path: `/${AZURITE_ACCOUNT}?comp=list`, method: 'GET', timeout: 2000}, (res) => {
          res.resume()
          resolve(res.statusCode)
        })
        req.on('error', () => resolve(undefined))
        req.on('timeout', () => req.destroy())
        req.end()
      })
      if (status !== undefined) return
      if (Date.now() > deadline) throw new Error(`Azurite on port ${this.port} does not answer\n${this.stderr}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  /**
   * Stops the server. Graceful by default (Azurite saves its metadata); `hard` kills it at once,
   * like a crash, and may lose the last few seconds of metadata.
   */
  async stop(options: {hard?: boolean} = {}): Promise<void> {
    const child = this.child
    if (!child) return
    this.child = undefined
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve()
      else child.once('exit', () => resolve())
    })
    child.kill(options.hard ? 'SIGKILL' : 'SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }

  /** Stops the server for good and removes its folder. */
  async dispose(): Promise<void> {
    await this.stop()
    await rm(this.location, {recursive: true, force: true})
  }

  /** A container URL with a SAS token (account key signed) for the given permissions. */
  async sasUrl(container: string, options: {permissions?: string; expiresOn?: Date; prefix?: string} = {}): Promise<string> {
    const {ContainerSASPermissions, StorageSharedKeyCredential, generateBlobSASQueryParameters} = await import('@azure/storage-blob')
    const credential = new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY)
    const sas = generateBlobSASQueryParameters(
      {
        containerName: container,
        permissions: ContainerSASPermissions.parse(options.permissions ?? 'racwdl'),
        startsOn: new Date(Date.now() - 5 * 60_000),
        expiresOn: options.expiresOn ?? new Date(Date.now() + 2 * 3600_000),
      },
      credential,
    ).toString()
    const prefix = options.prefix ? `/${options.prefix.split('/').map(encodeURIComponent).join('/')}` : ''
    return `${this.blobEndpoint}/${container}${prefix}?${sas}`
  }

  /** Creates a container with the account key (a SAS container URL cannot create its container). */
  async createContainer(container: string): Promise<void> {
    const {BlobServiceClient} = await import('@azure/storage-blob')
    await BlobServiceClient.fromConnectionString(this.connectionString).getContainerClient(container).createIfNotExists()
  }
}

let counter = 0

/** A container name that is unique in this process and valid for Azure (3-63 lowercase). */
export function uniqueContainer(label = 'ckpt'): string {
  return `${label}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 63)
}
