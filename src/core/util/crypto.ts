// node:crypto, loaded on first use: it costs ~2.5 ms at start-up, and a command that only reads
// (checkpoint list, show, local list) never hashes or names a temp file.
import type * as Crypto from 'node:crypto'
import {createRequire} from 'node:module'

const require = createRequire(import.meta.url)
let crypto: typeof Crypto | undefined
const load = (): typeof Crypto => (crypto ??= require('node:crypto') as typeof Crypto)

export const createHash = (algorithm: string): Crypto.Hash => load().createHash(algorithm)
export const randomBytes = (size: number): Buffer => load().randomBytes(size)
export const randomUUID = (): string => load().randomUUID()
