// The Azure Blob Storage primary store. Uploads stage blocks in parallel and commit the block list
// (with If-None-Match: * for create-if-absent); a read is one request, resumed where it broke. Whole calls are
// retried by the decorator (retry.ts) that the registry puts around every store; the requests of a
// transfer under way (a block, a range) are retried by the SDK's own per-request policy, because
// only the store still holds their bytes.
import {setMaxListeners} from 'node:events'
import {Readable} from 'node:stream'
import {AnonymousCredential, BlobServiceClient, ContainerClient, type StoragePipelineOptions} from '@azure/storage-blob'
import {randomBytes} from '../util/crypto.js'
import {NotFoundError, OperationError, StoreUnavailableError, TransientStoreError, UsageError, messageOf} from '../errors.js'
import {redact} from '../util/redact.js'
import {parseAzureAddress, type AzureAddress} from './azure-address.js'
import {azureCode, azureStatus, sasIsReadOnly, translateAzureError, type AzureContext, type FailedCall} from './azure-errors.js'
import {stageBlocks, streamRange} from './azure-transfer.js'
import {DEFAULT_BLOCK_SIZE, DEFAULT_CONCURRENCY, streamOf, type Body, type GetOptions, type ObjectInfo, type PrimaryStore, type PutOptions, type StoreOptions, type StoreProperties} from './store.js'

const MAX_BLOCK_SIZE = 4000 * 1024 * 1024
const MAX_BLOCKS = 50_000

export interface AzureStoreOptions extends StoreOptions {
  /** Keys per list page (the service's maximum is 5000); tests make it small to cross pages. */
  listPageSize?: number
  /** A request without an answer for this long fails as transient; block transfers get more. */
  requestTimeoutMs?: number
  /** Time allowed for the first request, which checks the address and the credentials. */
  openTimeoutMs?: number
}

/** The SDK's per-request retry, for the requests of a transfer under way (a block, a range, a resume). */
const REQUEST_RETRY = {maxTries: 4, retryDelayInMs: 250, maxRetryDelayInMs: 4000}

/** Two clients of one container: one request per call (the decorator retries), and one that retries each request. */
export interface AzureClients {
  calls: ContainerClient
  transfers: ContainerClient
}

export class AzureStore implements PrimaryStore {
  readonly properties: StoreProperties
  readonly displayUrl: string
  readonly identity: string
  private readonly context: AzureContext
  private readonly closing = new AbortController()

  constructor(
    private readonly address: AzureAddress,
    private readonly clients: AzureClients,
    private readonly settings: {blockSize: number; concurrency: number; listPageSize: number; requestTimeoutMs: number; openTimeoutMs: number},
  ) {
    this.displayUrl = address.display
    this.identity = address.identity
    // Every request in flight listens for close(); --concurrency allows more than the default 10.
    setMaxListeners(0, this.closing.signal)
    this.context = {display: address.display, endpoint: address.endpoint, container: address.container, auth: address.auth}
    this.properties = {connections: settings.concurrency, atomicCreate: true, writable: !sasIsReadOnly(address.auth)}
  }

  private get container(): ContainerClient {
    return this.clients.calls
  }

  private blob(key: string, client = this.clients.calls) {
    if (key === '' || key.startsWith('/') || key.split('/').some((part) => part === '' || part === '.' || part === '..')) {
      throw new OperationError(`invalid object key ${JSON.stringify(key)}`)
    }
    return client.getBlockBlobClient(this.address.prefix + key)
  }

  /** One SDK request under a timer; every failure comes out as a ckpt error without secrets. */
  private async call<T>(
    call: FailedCall,
    request: (signal: AbortSignal) => Promise<T>,
    options: {timeoutMs?: number; bytes?: number; signal?: AbortSignal; raw?: (error: unknown) => boolean} = {},
  ): Promise<T> {
    const cancelled = () => new OperationError(`primary store ${this.displayUrl}: ${this.closing.signal.aborted ? 'the store is closed' : `${call.action} ${call.key ?? ''} cancelled`}`)
    if (this.closing.signal.aborted || options.signal?.aborted) throw cancelled()
    // Allow at least 256 KiB/s for the bytes of a block or range on top of the base timeout.
    const timeoutMs = (options.timeoutMs ?? this.settings.requestTimeoutMs) + Math.ceil((options.bytes ?? 0) / 256)
    // One controller per request, fed by the timer, close() and the caller; listeners are removed
    // afterwards so that long-lived signals do not collect them.
    const controller = new AbortController()
    const abort = () => controller.abort()
    let timedOut = false
    const handle = setTimeout(() => {
      timedOut = true
      abort()
    }, timeoutMs)
    const sources = [this.closing.signal, ...(options.signal ? [options.signal] : [])]
    for (const source of sources) source.addEventListener('abort', abort)
    try {
      return await request(controller.signal)
    } catch (error) {
      if (this.closing.signal.aborted || options.signal?.aborted) throw cancelled()
      if (options.raw?.(error)) throw error
      throw translateAzureError(error, this.context, timedOut ? {...call, timedOutAfterMs: timeoutMs} : call)
    } finally {
      clearTimeout(handle)
      for (const source of sources) source.removeEventListener('abort', abort)
    }
  }

  /** Checks address and credentials with one small listing; creates the container when missing. */
  async open(): Promise<void> {
    const missing = (error: unknown) => azureCode(error) === 'ContainerNotFound'
    const during = (action: string, request: (abortSignal: AbortSignal) => Promise<unknown>) =>
      this.call({action}, request, {timeoutMs: this.settings.openTimeoutMs, raw: missing}).catch((error: unknown) => {
        // At open, no answer means unreachable (exit 5), not a blip worth retrying.
        if (error instanceof StoreUnavailableError && error.kind === 'timeout') throw new StoreUnavailableError(error.message, {cause: error.cause, kind: 'unreachable'})
        throw error
      })
    try {
      await during('list', (abortSignal) => this.container.listBlobsFlat({abortSignal, prefix: this.address.prefix}).byPage({maxPageSize: 1}).next())
      return
    } catch (error) {
      if (!missing(error)) throw error
    }
    try {
      await during('create container', (abortSignal) => this.container.createIfNotExists({abortSignal}))
    } catch (error) {
      if (error instanceof StoreUnavailableError && (error.kind === 'credentials' || error.kind === 'read-only')) {
        const why = error.message.slice(error.message.indexOf('create container: ') + 'create container: '.length)
        throw new StoreUnavailableError(
          `primary store ${this.displayUrl}: container "${this.address.container}" does not exist and these credentials cannot create it (${why}); create the container first`,
          {cause: error.cause, kind: error.kind},
        )
      }
      throw error
    }
  }

  put(key: string, body: Body, options: PutOptions = {}): Promise<void> {
    return this.upload(key, body, false, options)
  }

  createIfAbsent(key: string, body: Body, options: PutOptions = {}): Promise<void> {
    return this.upload(key, body, true, options)
  }

  private async upload(key: string, body: Body, ifAbsent: boolean, options: PutOptions): Promise<void> {
    const blob = this.blob(key)
    const blocks = this.blob(key, this.clients.transfers)
    const call = {action: ifAbsent ? 'create' : 'write', key}
    const conditions = ifAbsent ? {ifNoneMatch: '*'} : undefined
    const {blockSize, concurrency} = this.settings
    const uploadId = randomBytes(8).toString('hex')
    // Fresh block ids per upload: stale uncommitted blocks of an interrupted upload never collide.
    const blockId = (index: number) => Buffer.from(`${uploadId}-${String(index).padStart(6, '0')}`).toString('base64')
    const stage = async (index: number, block: Buffer) => {
      if (index >= MAX_BLOCKS) throw new OperationError(`primary store ${this.displayUrl}: ${key} needs more than ${MAX_BLOCKS} blocks; raise the block size (transfer.blockSize)`)
      await this.call(call, (abortSignal) => blocks.stageBlock(blockId(index), block, block.length, {abortSignal}), {bytes: block.length})
    }
    const source = streamOf(body)
    let staged: {blocks: number; small?: Buffer}
    try {
      staged = await stageBlocks(source, {blockSize, concurrency, stage, onProgress: options.onProgress})
    } catch (error) {
      source.destroy()
      throw error
    }
    const {small} = staged
    if (small && !ifAbsent) {
      await this.call(call, (abortSignal) => blocks.upload(small, small.length, {abortSignal}), {bytes: small.length})
      options.onProgress?.(small.length)
      return
    }
    // A create is always a block list committed with If-None-Match: *, so that it is one kind of request.
    if (small && small.length > 0) await stage(0, small)
    const ids = Array.from({length: small?.length === 0 ? 0 : staged.blocks}, (_, i) => blockId(i))
    // A plain commit is idempotent, so the SDK may retry it; a conditional one is the decorator's to retry.
    const committer = ifAbsent ? blob : blocks
    await this.call(call, (abortSignal) => committer.commitBlockList(ids, {abortSignal, conditions}))
    if (small) options.onProgress?.(small.length)
  }

  /** One streamed request per read: parallel ranges measured no faster (docs/PERFORMANCE.md, "Azure transfers"). */
  get(key: string, options: GetOptions = {}): Promise<Readable> {
    return this.streamed(key, options.range?.offset ?? 0, options.range?.length, options.onProgress)
  }

  /**
   * A range (to the end when length is undefined) as one streamed request. No request for the properties first: the first
   * answer gives the ETag, which pins any resume, and where the object ends. A range that starts
   * past the end reads as empty, as in get().
   */
  private async streamed(key: string, start: number, length: number | undefined, onProgress?: (bytes: number) => void): Promise<Readable> {
    if (length === 0) return Readable.from([])
    const blob = this.blob(key, this.clients.transfers)
    let etag: string | undefined
    const pastEnd = (error: unknown) => azureStatus(error) === 416
    const open = async (at: number, end: number) => {
      try {
        const response = await this.call(
          {action: 'read', key},
          (abortSignal) => blob.download(at, end === Infinity ? undefined : end - at, {abortSignal, conditions: etag ? {ifMatch: etag} : undefined, maxRetryRequests: 0}),
          {raw: pastEnd},
        )
        etag ??= response.etag
        return {body: response.readableStreamBody as Readable, end: at + (response.contentLength ?? 0)}
      } catch (error) {
        if (pastEnd(error)) return {body: Readable.from([]), end: at}
        throw error
      }
    }
    const failure = (error: unknown, at: number) => {
      const translated = translateAzureError(error, this.context, {action: 'read', key})
      if (translated instanceof StoreUnavailableError || translated instanceof NotFoundError) return translated
      return new TransientStoreError(`primary store ${this.displayUrl}: cannot read ${key}: the connection broke after ${at - start}${length === undefined ? '' : ` of ${length}`} bytes`, {
        cause: translated,
      })
    }
    // The first request is made now, so a missing object or a refused read fails get() itself.
    const end = length === undefined ? Infinity : start + length
    let first: Promise<{body: Readable; end: number}> | undefined = open(start, end)
    await first
    const reopen = (at: number, end: number) => {
      const opened = first ?? open(at, end)
      first = undefined
      return opened
    }
    const stream = Readable.from(streamRange({start, end, open: reopen, failure, stallMs: this.settings.requestTimeoutMs, closing: this.closing.signal, onProgress}))
    // Destroyed before it was read: the first answer's body is let go too.
    stream.once('close', () => void first?.then(({body}) => body.destroy()))
    return stream
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const blob = this.blob(key)
    try {
      const props = await this.call({action: 'stat', key}, (abortSignal) => blob.getProperties({abortSignal}))
      return {key, size: props.contentLength ?? 0, lastModified: props.lastModified ?? new Date(0)}
    } catch (error) {
      if (error instanceof NotFoundError) return undefined
      throw error
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const full = this.address.prefix + prefix
    let continuationToken: string | undefined
    do {
      const token = continuationToken
      const page = await this.call({action: 'list', key: `${prefix}*`}, (abortSignal) =>
        this.container.listBlobsFlat({abortSignal, prefix: full}).byPage({maxPageSize: this.settings.listPageSize, continuationToken: token}).next(),
      )
      if (page.done) return
      for (const item of page.value.segment.blobItems) {
        yield {key: item.name.slice(this.address.prefix.length), size: item.properties.contentLength ?? 0, lastModified: item.properties.lastModified}
      }
      continuationToken = page.value.continuationToken || undefined
    } while (continuationToken)
  }

  async delete(key: string): Promise<void> {
    const blob = this.blob(key)
    await this.call({action: 'delete', key}, (abortSignal) => blob.deleteIfExists({abortSignal}))
  }

  async close(): Promise<void> {
    this.closing.abort()
  }
}

function positiveInteger(value: number | undefined, fallback: number, name: string, max: number): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < 1 || value > max) throw new UsageError(`${name} must be a whole number from 1 to ${max}, not ${value}`)
  return value
}

/** Opens the store: the open check with one try (the registry wraps the store and retries the check). */
export async function openAzureStore(url: string, options: AzureStoreOptions): Promise<AzureStore> {
  const store = createAzureStore(url, options)
  await store.open()
  return store
}

/** Makes the store without any request. */
export function createAzureStore(url: string, options: AzureStoreOptions): AzureStore {
  const address = parseAzureAddress(url, options.env ?? process.env)
  const settings = {
    blockSize: positiveInteger(options.blockSize, DEFAULT_BLOCK_SIZE, 'the block size (transfer.blockSize)', MAX_BLOCK_SIZE),
    concurrency: positiveInteger(options.concurrency, DEFAULT_CONCURRENCY, 'the concurrency (transfer.concurrency, --concurrency)', 64),
    listPageSize: positiveInteger(options.listPageSize, 5000, 'the list page size', 5000),
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    openTimeoutMs: options.openTimeoutMs ?? 15_000,
  }
  const client = (retryOptions: StoragePipelineOptions['retryOptions']) => {
    const pipeline: StoragePipelineOptions = {retryOptions, userAgentOptions: {userAgentPrefix: 'ckpt'}}
    const source = address.source
    return source.kind === 'connection-string'
      ? BlobServiceClient.fromConnectionString(source.connectionString, pipeline).getContainerClient(address.container)
      : new ContainerClient(source.containerUrl, new AnonymousCredential(), pipeline)
  }
  let clients: AzureClients
  try {
    // One try per call: the retry decorator owns those retries, so failures surface within a bounded time.
    clients = {calls: client({maxTries: 1}), transfers: client(REQUEST_RETRY)}
  } catch (error) {
    throw new UsageError(`primary store ${address.display}: ${redact(messageOf(error))}`)
  }
  return new AzureStore(address, clients, settings)
}
