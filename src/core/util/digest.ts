// The digest of format 2's blobs and packs: BLAKE3-256 through the native addon of
// @napi-rs/blake-hash (its prebuilt package for this platform), or, where none loads, hash-wasm's WebAssembly BLAKE3 (same
// digests, about 7x slower). SHA-256 (node:crypto) for format 1 and for `CKPT_DIGEST=sha256` jobs.
import {createRequire} from 'node:module'
import {createHash} from './crypto.js'

export type DigestAlgorithm = 'blake3' | 'sha256'
export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ['blake3', 'sha256']

/** Which code computes BLAKE3: the native addon, its WebAssembly fallback, or node:crypto (SHA-256). */
export type DigestImplementation = 'native' | 'wasm' | 'node'

export interface Digester {
  update(data: Buffer): Digester
  /** Lower-case hex; the digester cannot be used afterwards. */
  hex(): string
}

interface NativeModule {
  Blake3Hasher: new () => {update(data: Buffer): unknown; digest(format: 'hex'): string}
  blake3(data: Buffer): Buffer
}
interface WasmHasher {
  init(): unknown
  update(data: Buffer): unknown
  digest(format: 'hex'): string
}

const require = createRequire(import.meta.url)
let native: NativeModule | undefined
let nativeError: string | undefined
let wasm: WasmHasher | undefined
let loaded = false

/** The module path of the native addon, for hash workers (eval'd code resolves nothing itself); undefined when it cannot load. */
export let nativeModulePath: string | undefined

/**
 * The prebuilt BLAKE3 addons this install may hold (optional dependencies: npm installs the one of
 * this machine's platform). Elsewhere the WebAssembly build serves; `npm install
 * @napi-rs/blake-hash` there adds the wrapper that knows every platform, and it is tried last.
 */
function addonCandidates(): string[] {
  const own = process.platform === 'linux' && process.arch === 'x64' ? ['@napi-rs/blake-hash-linux-x64-gnu', '@napi-rs/blake-hash-linux-x64-musl'] : []
  return [...own, '@napi-rs/blake-hash']
}

function loadNative(): void {
  if (loaded) return
  loaded = true
  if (process.env.CKPT_DIGEST_IMPL === 'wasm') {
    nativeError = 'CKPT_DIGEST_IMPL=wasm'
    return
  }
  const errors: string[] = []
  for (const name of addonCandidates()) {
    try {
      const path = require.resolve(name)
      const addon = require(path) as NativeModule
      if (addon.blake3(Buffer.from('abc')).toString('hex') !== ABC) throw new Error(`${name} computes a wrong digest`)
      native = addon
      nativeModulePath = path
      return
    } catch (error) {
      errors.push((error as Error).message.split('\n')[0])
    }
  }
  nativeError = `no prebuilt addon loads on ${process.platform}-${process.arch}: ${errors[0]}`
}

const ABC = '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85'

/**
 * Loads what hashes `algorithm`; call once before the synchronous functions below. The WebAssembly
 * fallback is instantiated here, asynchronously; the native addon needs nothing.
 */
export async function digestReady(algorithm: DigestAlgorithm): Promise<void> {
  if (algorithm !== 'blake3') return
  loadNative()
  if (native || wasm) return
  const {createBLAKE3} = (await import('hash-wasm')) as {createBLAKE3: () => Promise<WasmHasher>}
  wasm = await createBLAKE3()
}

/** Why the native addon did not load (undefined when it did, or before digestReady('blake3')). */
export function nativeUnavailable(): string | undefined {
  return native ? undefined : nativeError
}

export function digestImplementation(algorithm: DigestAlgorithm): DigestImplementation {
  if (algorithm === 'sha256') return 'node'
  loadNative()
  return native ? 'native' : 'wasm'
}

/** The one-line note printed once when BLAKE3 runs on its fallback. */
export function fallbackNote(): string | undefined {
  const why = nativeUnavailable()
  return why === undefined ? undefined : `BLAKE3 native addon unavailable (${why}); using the WebAssembly build, hashing is about 7x slower`
}

export function newDigester(algorithm: DigestAlgorithm): Digester {
  if (algorithm === 'sha256') {
    const hash = createHash('sha256')
    const self: Digester = {update: (data) => (hash.update(data), self), hex: () => hash.digest('hex')}
    return self
  }
  loadNative()
  if (native) {
    const hasher = new native.Blake3Hasher()
    const self: Digester = {update: (data) => (hasher.update(data), self), hex: () => hasher.digest('hex')}
    return self
  }
  if (!wasm) throw new Error('BLAKE3 is not loaded: call digestReady("blake3") first')
  // One WebAssembly instance, used by one digest at a time: the hashing below is synchronous.
  const chunks: Buffer[] = []
  const self: Digester = {
    update: (data) => (chunks.push(data), self),
    hex: () => {
      wasm!.init()
      for (const chunk of chunks) wasm!.update(chunk)
      return wasm!.digest('hex')
    },
  }
  return self
}

/** The digest of one buffer, in lower-case hex. */
export function digestHex(data: Buffer, algorithm: DigestAlgorithm): string {
  if (algorithm === 'blake3') {
    loadNative()
    if (native) return native.blake3(data).toString('hex')
  }
  return newDigester(algorithm).update(data).hex()
}

export function isDigestAlgorithm(value: unknown): value is DigestAlgorithm {
  return value === 'blake3' || value === 'sha256'
}

/** A hex digest of the algorithm's length (64 hex digits for both). */
export function isHexDigest(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{64}$/.test(value)
}
