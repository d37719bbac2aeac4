// The Azure store against Azurite: the shared conformance suite (connection string and SAS URL),
// then what only Azure has: credentials, unreachable endpoints, SAS tokens, a server that stops.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {createServer as createHttpServer, request as httpRequest} from 'node:http'
import {createServer, type AddressInfo, type Server, type Socket} from 'node:net'
import {Readable} from 'node:stream'
import {inspect} from 'node:util'
import {after, before, describe, it} from 'node:test'
import {BlobServiceClient} from '@azure/storage-blob'
import {NotFoundError, StoreUnavailableError, TransientStoreError, UsageError} from '../../../src/core/errors.js'
import {openAzureStore, type AzureStoreOptions} from '../../../src/core/stores/azure-store.js'
import {openPrimaryStore} from '../../../src/core/stores/registry.js'
import {withRetry} from '../../../src/core/stores/retry.js'
import {DEFAULT_CONCURRENCY, getBuffer, sendOnce, type PrimaryStore} from '../../../src/core/stores/store.js'
import {Azurite, uniqueContainer} from '../../helpers/azurite.js'
import {storeConformance} from './conformance.js'

const PAGE = 10
let shared: Promise<Azurite> | undefined
const server = () => (shared ??= Azurite.start())
after(async () => (await shared)?.dispose())

function options(connectionString: string, extra: Partial<AzureStoreOptions> = {}): AzureStoreOptions {
  return {baseDir: process.cwd(), env: {AZURE_STORAGE_CONNECTION_STRING: connectionString}, listPageSize: PAGE, ...extra}
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** Everything a failure shows: message, cause and stack, as a log would print them. */
function shown(error: unknown): string {
  return `${String(error)}\n${inspect(error, {depth: 6})}`
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  assert.fail('expected a failure')
}

storeConformance('azure (connection string, azure://container/prefix)', async () => {
  const azurite = await server()
  const store = await openPrimaryStore(`azure://${uniqueContainer('conf')}/some/prefix`, options(azurite.connectionString, {concurrency: 3}))
  return {store, pageSize: PAGE, connections: 3, cleanup: async () => {}}
})

storeConformance('azure (container URL with a SAS token)', async () => {
  const azurite = await server()
  const container = uniqueContainer('sas')
  await azurite.createContainer(container)
  const store = await openPrimaryStore(await azurite.sasUrl(container, {prefix: 'sas prefix'}), options('', {listPageSize: PAGE, env: {}}))
  assert.match(store.displayUrl, /\?<sas>$/)
  return {store, pageSize: PAGE, connections: DEFAULT_CONCURRENCY, cleanup: async () => {}}
})

describe('azure store: addresses and credentials', () => {
  let azurite: Azurite
  before(async () => {
    azurite = await server()
  })

  it('creates the container when it is missing', async () => {
    const container = uniqueContainer('auto')
    const service = BlobServiceClient.fromConnectionString(azurite.connectionString)
    assert.equal(await service.getContainerClient(container).exists(), false)
    const store = await openPrimaryStore(`azure://${container}`, {baseDir: '.', env: {AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString}})
    assert.equal(await service.getContainerClient(container).exists(), true)
    await store.put('k', Buffer.from('v'))
    assert.equal((await service.getContainerClient(container).getBlobClient('k').getProperties()).contentLength, 1)
    assert.equal(store.displayUrl, `azure://${container}`)
    await store.close()
  })

  it('says the account key is wrong, without showing it', async () => {
    const key = Buffer.from('ckpt-test-wrong-key-SEARCHME-'.repeat(3)).toString('base64')
    const connectionString = azurite.connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${key}`)
    const error = await rejection(openPrimaryStore(`azure://${uniqueContainer('key')}/p`, {baseDir: '.', env: {AZURE_STORAGE_CONNECTION_STRING: connectionString}}))
    assert.ok(error instanceof StoreUnavailableError && !(error instanceof TransientStoreError), shown(error))
    assert.equal(error.exit, 5)
    assert.match(error.message, /refused the credentials/)
    assert.match(error.message, /account key of "devstoreaccount1" is wrong/)
    assert.equal((error as StoreUnavailableError).kind, 'credentials')
    for (const secret of [key, connectionString, 'AccountKey=']) assert.ok(!shown(error).includes(secret), `the failure shows ${secret.slice(0, 12)}...`)
  })

  it('says an endpoint on a closed port cannot be reached, quickly', async () => {
    const port = await closedPort()
    const connectionString = azurite.connectionString.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`)
    const started = Date.now()
    const error = await rejection(openPrimaryStore(`azure://${uniqueContainer('gone')}`, {baseDir: '.', env: {AZURE_STORAGE_CONNECTION_STRING: connectionString}}))
    assert.ok(Date.now() - started < 20_000, 'bounded time')
    assert.ok(error instanceof StoreUnavailableError, shown(error))
    assert.match(error.message, new RegExp(`cannot reach http://127.0.0.1:${port} \\(ECONNREFUSED\\)`))
    assert.equal((error as StoreUnavailableError).kind, 'unreachable')
    assert.ok(!shown(error).includes(azurite.connectionString))
  })

  it('gives up on an endpoint that accepts connections and never answers', async () => {
    const {port, close} = await silentServer()
    try {
      const connectionString = azurite.connectionString.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`)
      const started = Date.now()
      const error = await rejection(openAzureStore(`azure://${uniqueContainer('mute')}`, options(connectionString, {openTimeoutMs: 1500})))
      assert.ok(Date.now() - started < 10_000, `bounded time, took ${Date.now() - started}ms`)
      assert.ok(error instanceof StoreUnavailableError && !(error instanceof TransientStoreError), shown(error))
      assert.match(error.message, /no answer from http:\/\/127\.0\.0\.1:\d+ within 2s/)
      assert.equal((error as StoreUnavailableError).kind, 'unreachable')
    } finally {
      await close()
    }
  })

  it('says a SAS token expired, without showing it', async () => {
    const container = uniqueContainer('exp')
    await azurite.createContainer(container)
    const url = await azurite.sasUrl(container, {expiresOn: new Date(Date.now() - 60_000)})
    const sig = new URL(url).searchParams.get('sig')!
    const error = await rejection(openPrimaryStore(url, {baseDir: '.', env: {}}))
    assert.ok(error instanceof StoreUnavailableError, shown(error))
    assert.match(error.message, /the SAS token expired at \d{4}-/)
    assert.equal((error as StoreUnavailableError).kind, 'credentials')
    for (const secret of [sig, encodeURIComponent(sig), new URL(url).search.slice(1)]) assert.ok(!shown(error).includes(secret), 'the failure shows the SAS')
  })

  it('says a SAS token is read-only when a write is refused, and still reads', async () => {
    const container = uniqueContainer('ro')
    await azurite.createContainer(container)
    const writer = await openAzureStore(await azurite.sasUrl(container), options('', {env: {}}))
    await writer.put('there', Buffer.from('data'))
    const url = await azurite.sasUrl(container, {permissions: 'rl'})
    const store = await openPrimaryStore(url, {baseDir: '.', env: {}})
    assert.equal(store.properties.writable, false, 'the SAS says so in its sp field')
    assert.equal(writer.properties.writable, true)
    assert.equal((await getBuffer(store, 'there')).toString(), 'data')
    const error = await rejection(store.put('new', Buffer.from('x')))
    assert.ok(error instanceof StoreUnavailableError && !(error instanceof TransientStoreError), shown(error))
    assert.match(error.message, /cannot write new: the SAS token is read-only \(AuthorizationPermissionMismatch\): it grants "rl", ckpt needs "racwdl"/)
    assert.equal(error.kind, 'read-only')
    const sig = new URL(url).searchParams.get('sig')!
    assert.ok(!shown(error).includes(sig))
    assert.ok(!store.displayUrl.includes(sig))
    await store.close()
    await writer.close()
  })

  it('says when the container is missing and a SAS token cannot create it', async () => {
    const url = await azurite.sasUrl(uniqueContainer('nocreate'))
    const error = await rejection(openPrimaryStore(url, {baseDir: '.', env: {}}))
    assert.ok(error instanceof StoreUnavailableError, shown(error))
    assert.match(error.message, /container "nocreate-[^"]+" does not exist and these credentials cannot create it/)
  })

  it('refuses bad addresses with usage errors', async () => {
    await assert.rejects(openPrimaryStore('azure://Bad_Name/x', {baseDir: '.', env: {AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString}}), UsageError)
    await assert.rejects(openPrimaryStore('azure://good-name/x', {baseDir: '.', env: {}}), /set AZURE_STORAGE_CONNECTION_STRING/)
    await assert.rejects(openPrimaryStore(`${azurite.blobEndpoint}/good-name`, {baseDir: '.', env: {}}), /needs a SAS token/)
  })
})

describe('azure store: transfers', () => {
  let store: PrimaryStore
  before(async () => {
    const azurite = await server()
    store = withRetry(await openAzureStore(`azure://${uniqueContainer('xfer')}`, options(azurite.connectionString, {blockSize: 64 * 1024, concurrency: 3})))
  })
  after(() => store?.close())

  it('reads ranges across many small blocks in order, with progress', async () => {
    const body = randomBytes(1024 * 1024 + 99)
    await store.put('r/obj', sendOnce(Readable.from([body])))
    let progress = 0
    const whole = await readAll(await store.get('r/obj', {onProgress: (bytes) => (progress = bytes)}))
    assert.ok(whole.equals(body))
    assert.equal(progress, body.length)
    for (const [offset, length] of [
      [0, 1],
      [65_535, 2],
      [100_000, 400_000],
      [1_000_000, undefined],
      [body.length - 1, 10],
      [body.length + 5, 3],
    ] as const) {
      const part = await readAll(await store.get('r/obj', {range: {offset, length}}))
      assert.ok(part.equals(body.subarray(offset, length === undefined ? undefined : offset + length)), `range ${offset}+${length}`)
    }
    await assert.rejects(store.get('r/missing', {range: {offset: 0, length: 5}}), NotFoundError)
  })

  it('reads a small object, or a range of several blocks, with one request and no properties request', async () => {
    const azurite = await server()
    const seen: string[] = []
    // A proxy on 127.0.0.1 in front of Azurite that notes each request's method and range.
    const proxy = createHttpServer((req, res) => {
      if (!req.url?.includes('comp=')) seen.push(`${req.method} ${req.headers['x-ms-range'] ?? ''}`.trim())
      const upstream = httpRequest({host: '127.0.0.1', port: azurite.port, method: req.method, path: req.url, headers: req.headers}, (answer) => {
        res.writeHead(answer.statusCode ?? 500, answer.headers)
        answer.pipe(res)
      })
      req.pipe(upstream)
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    const port = (proxy.address() as AddressInfo).port
    const via = withRetry(
      await openAzureStore(`azure://${uniqueContainer('one')}`, options(azurite.connectionString.replace(`:${azurite.port}/`, `:${port}/`), {blockSize: 64 * 1024, concurrency: 3})),
    )
    try {
      const body = randomBytes(300 * 1024)
      await via.put('one/obj', body)
      seen.length = 0
      assert.ok((await getBuffer(via, 'one/obj')).equals(body))
      assert.deepEqual(seen, ['GET'], 'a whole small object: one GET, no HEAD')
      seen.length = 0
      assert.ok((await readAll(await via.get('one/obj', {range: {offset: 10, length: 200_000}}))).equals(body.subarray(10, 200_010)))
      assert.deepEqual(seen, ['GET bytes=10-200009'], 'a range of several blocks: one request')
    } finally {
      await via.close()
      proxy.closeAllConnections()
      await new Promise((resolve) => proxy.close(resolve))
    }
  })

  it('writes a stream again after an interrupted upload left stale blocks', async () => {
    await store.put('stale/obj', Buffer.from('old'))
    const failing = Readable.from(
      (async function* () {
        for (let i = 0; i < 5; i++) yield randomBytes(64 * 1024)
        throw new Error('the source broke')
      })(),
    )
    await assert.rejects(store.put('stale/obj', sendOnce(failing)), /the source broke/)
    assert.equal((await getBuffer(store, 'stale/obj')).toString(), 'old', 'an interrupted put changes nothing')
    const body = randomBytes(300 * 1024)
    await store.put('stale/obj', sendOnce(Readable.from([body])))
    assert.ok((await getBuffer(store, 'stale/obj')).equals(body))
    const fresh = Readable.from(
      (async function* () {
        yield randomBytes(200 * 1024)
        throw new Error('broke again')
      })(),
    )
    await assert.rejects(store.createIfAbsent('stale/new', sendOnce(fresh)), /broke again/)
    assert.equal(await store.stat('stale/new'), undefined)
    await store.createIfAbsent('stale/new', body)
    assert.ok((await getBuffer(store, 'stale/new')).equals(body))
  })
})

describe('azure store: the server goes away in the middle of a transfer', () => {
  let azurite: Azurite
  before(async () => {
    azurite = await Azurite.start()
  })
  after(() => azurite?.dispose())

  it('fails the transfer within a bounded time, and works again after a restart', async () => {
    const store = await openPrimaryStore(`azure://${uniqueContainer('stop')}/p`, {
      baseDir: '.',
      env: {AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString},
      blockSize: 256 * 1024,
      concurrency: 2,
    })
    await store.put('before', Buffer.from('kept'))
    let sent = 0
    let stopping: Promise<void> | undefined
    const endless = Readable.from(
      (async function* () {
        for (let i = 0; i < 4096; i++) {
          if (sent > 1024 * 1024 && !stopping) stopping = azurite.stop()
          yield randomBytes(64 * 1024)
        }
      })(),
    )
    const started = Date.now()
    const error = await rejection(store.put('during', sendOnce(endless), {onProgress: (bytes) => (sent = bytes)}))
    await stopping
    assert.ok(Date.now() - started < 30_000, `bounded time, took ${Date.now() - started}ms`)
    assert.ok(error instanceof StoreUnavailableError, shown(error))
    assert.equal(error.exit, 5)
    await assert.rejects(store.stat('before'), StoreUnavailableError)

    await azurite.start()
    assert.equal((await getBuffer(store, 'before')).toString(), 'kept')
    assert.equal(await store.stat('during'), undefined, 'the interrupted upload left no object')
    const body = randomBytes(700 * 1024)
    await store.put('during', sendOnce(Readable.from([body])))
    assert.ok((await getBuffer(store, 'during')).equals(body))
    await store.close()
  })
})

async function closedPort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as {port: number}).port
  await new Promise((resolve) => probe.close(resolve))
  return port
}

/** A TCP server that accepts connections and never answers: a hung endpoint. */
async function silentServer(): Promise<{port: number; close: () => Promise<void>}> {
  const sockets = new Set<Socket>()
  const silent: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  return {
    port: (silent.address() as {port: number}).port,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => silent.close(resolve))
    },
  }
}
