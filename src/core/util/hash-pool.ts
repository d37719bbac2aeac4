// SHA-256 of files on worker threads, so hashing runs on every core while the main thread keeps
// the copies and transfers going. A worker opens, reads and hashes the file itself: no bytes cross
// threads. Workers start on first use, hold the process open only while they have work, and
// stop when idle.
import {availableParallelism} from 'node:os'
import {Worker} from 'node:worker_threads'

export interface FileDigest {
  /** Bytes read; differs from the expected size when the file was cut short or grew. */
  size: number
  sha256: string
  /** Format 2: the digest of each piece asked for (null: the file ended before it). */
  digests?: Array<string | null>
}

// Plain CommonJS run with eval, so it works the same from dist/ and from the TypeScript sources.
const WORKER = `
const {createHash} = require('node:crypto')
const fs = require('node:fs')
const {parentPort} = require('node:worker_threads')
let buffer = Buffer.allocUnsafeSlow(1 << 20)
// Format 2: the digests of consecutive pieces of a file (its blobs), BLAKE3 through the native
// addon at blake3 (a module path) or SHA-256; a piece the file does not hold whole gets null.
const pieces = (fd, chunks, blake3) => {
  const b3 = blake3 ? require(blake3) : undefined
  const digests = []
  let size = 0
  for (const length of chunks) {
    if (buffer.length < length) buffer = Buffer.allocUnsafeSlow(length)
    let filled = 0
    while (filled < length) {
      const n = fs.readSync(fd, buffer, filled, length - filled, size + filled)
      if (n === 0) break
      filled += n
    }
    size += filled
    if (filled < length) { digests.push(null); break }
    const piece = buffer.subarray(0, length)
    digests.push(b3 ? b3.blake3(piece).toString('hex') : createHash('sha256').update(piece).digest('hex'))
  }
  return {size, digests}
}
parentPort.on('message', ({id, file, chunks, blake3}) => {
  let fd
  try {
    // A warm-up: the addon loaded before the first file comes.
    if (file === undefined) return parentPort.postMessage({id, size: 0, sha256: '', ...(blake3 ? (require(blake3), {}) : {})})
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW)
    if (chunks) return parentPort.postMessage({id, ...pieces(fd, chunks, blake3)})
    const hash = createHash('sha256')
    let size = 0
    for (;;) {
      const n = fs.readSync(fd, buffer, 0, buffer.length, null)
      if (n === 0) break
      hash.update(n === buffer.length ? buffer : buffer.subarray(0, n))
      size += n
    }
    parentPort.postMessage({id, size, sha256: hash.digest('hex')})
  } catch (error) {
    parentPort.postMessage({id, error: {message: error.message, code: error.code}})
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
})
`

interface Pending {
  resolve: (digest: FileDigest) => void
  reject: (error: Error) => void
}

/** A worker with nothing to do for this long stops; the next file starts a new one. */
const IDLE_MS = 250

class HashWorker {
  readonly pending = new Map<number, Pending>()
  private readonly worker: Worker
  private idle: NodeJS.Timeout | undefined

  constructor(private readonly onExit: (self: HashWorker) => void) {
    // No execArgv of ours: the worker is plain CommonJS whatever the process was started with.
    this.worker = new Worker(WORKER, {eval: true, execArgv: []})
    this.worker.on('message', (message: {id: number; size: number; sha256: string; digests?: Array<string | null>; error?: {message: string; code?: string}}) => {
      const waiter = this.pending.get(message.id)
      if (!waiter) return
      this.pending.delete(message.id)
      if (this.pending.size === 0) this.rest()
      if (message.error) waiter.reject(Object.assign(new Error(message.error.message), {code: message.error.code}))
      else waiter.resolve({size: message.size, sha256: message.sha256, ...(message.digests ? {digests: message.digests} : {})})
    })
    const fail = (error: Error) => {
      onExit(this)
      for (const waiter of this.pending.values()) waiter.reject(error)
      this.pending.clear()
    }
    this.worker.on('error', fail)
    this.worker.on('exit', (code) => fail(new Error(`hash worker stopped (exit code ${code})`)))
  }

  /**
   * Idle: the worker no longer holds the process open, and stops soon. Stopping, not only unref(),
   * is what lets the process exit: a worker's message port was seen to keep it alive regardless.
   */
  private rest(): void {
    this.worker.unref()
    this.idle = setTimeout(() => {
      this.onExit(this)
      void this.worker.terminate()
    }, IDLE_MS)
    this.idle.unref()
  }

  hash(id: number, file: string | undefined, pieces?: {chunks: number[]; blake3?: string}): Promise<FileDigest> {
    return new Promise((resolve, reject) => {
      clearTimeout(this.idle)
      if (this.pending.size === 0) this.worker.ref()
      this.pending.set(id, {resolve, reject})
      this.worker.postMessage({id, file, ...pieces})
    })
  }
}

export class HashPool {
  private readonly workers: HashWorker[] = []
  private nextId = 0

  constructor(readonly size: number) {}

  /** SHA-256 and length of a file's bytes; rejects when the file cannot be read (or is a symlink). */
  hashFile(file: string): Promise<FileDigest> {
    return this.next().hash(this.nextId++, file)
  }

  /**
   * The digests of consecutive pieces of a file (format 2's blobs), BLAKE3 through the native addon
   * at `blake3` (its module path; a worker cannot resolve one) or else SHA-256.
   */
  pieceDigests(file: string, chunks: number[], blake3?: string): Promise<FileDigest> {
    return this.next().hash(this.nextId++, file, {chunks, blake3})
  }

  /**
   * Starts every worker now, each loading the addon at `blake3`, so that a restore's first files do
   * not wait for them (a worker takes 100-200 ms to start on a busy 2-core machine). A started
   * worker stops again when it stays idle.
   */
  warm(blake3?: string): void {
    while (this.workers.length < this.size) {
      const worker = new HashWorker((dead) => this.workers.splice(this.workers.indexOf(dead) >>> 0, 1))
      this.workers.push(worker)
      worker.hash(this.nextId++, undefined, {chunks: [], blake3}).catch(() => {})
    }
  }

  private next(): HashWorker {
    let least = this.workers[0]
    for (const worker of this.workers) if (worker.pending.size < least.pending.size) least = worker
    // A new worker only when every one is busy, and it gets this file at once: a worker that never
    // had work would never go idle, and would hold the process open.
    if ((!least || least.pending.size > 0) && this.workers.length < this.size) {
      least = new HashWorker((dead) => this.workers.splice(this.workers.indexOf(dead) >>> 0, 1))
      this.workers.push(least)
    }
    return least
  }
}

/** The process's pool: one worker per core, up to 4 (hashing runs at about 2 GB/s per core). */
export const hashPool = new HashPool(Math.max(1, Math.min(4, availableParallelism())))
