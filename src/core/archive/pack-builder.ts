// Gathers a take's new blobs into packs of about DEFAULT_PACK_SIZE and puts each pack once it is
// full. A blob already known (named by the base checkpoint, or written by this take) is not stored
// again. A pack is named by its digest, known only once it is sealed, so a blob's location points
// at its pack's handle, which receives the id then.
import {encodePackTail, type PackBlob} from '../format/pack.js'
import {digestHex, type DigestAlgorithm} from '../util/digest.js'
import {Limiter} from '../util/pool.js'

/** A pack: its id and size once sealed (a pack of the base has them from the start). */
export interface PackHandle {
  id?: string
  size: number
}

export interface BlobLocation {
  pack: PackHandle
  offset: number
  length: number
}

export interface PackBuilderOptions {
  digest: DigestAlgorithm
  packSize: number
  /** Puts a sealed pack (create-if-absent; the same bytes already there are success). */
  put: (packId: string, body: Buffer) => Promise<void>
  /** Packs being put at once. */
  inFlight?: number
}

/** Room for the blob that crosses packSize and for the trailer, so a pack is one buffer, filled once. */
const SLACK = 2 << 20

export class PackBuilder {
  /** Every blob this take may reference: the base's and its own. */
  readonly known = new Map<string, BlobLocation>()
  /** Bytes of packs put. */
  uploadedBytes = 0
  private body: Buffer | undefined
  private table: PackBlob[] = []
  private size = 0
  private current: PackHandle = {size: 0}
  private readonly puts: Limiter
  /** Pack buffers whose put has finished: reused, since fresh memory costs a page fault per page. */
  private readonly spare: Buffer[] = []

  constructor(private readonly options: PackBuilderOptions) {
    this.puts = new Limiter(options.inFlight ?? 2)
  }

  /** Where `blobId` is, when this take may reference it. */
  find(blobId: string): BlobLocation | undefined {
    return this.known.get(blobId)
  }

  /** Stores a blob unless it is known; true when it was new. `data` is copied. */
  async add(blobId: string, data: Buffer): Promise<{location: BlobLocation; added: boolean}> {
    const found = this.known.get(blobId)
    if (found) return {location: found, added: false}
    const location: BlobLocation = {pack: this.current, offset: this.size, length: data.length}
    this.known.set(blobId, location)
    this.body = this.room(this.body, this.size + data.length)
    data.copy(this.body, this.size)
    this.table.push([blobId, this.size, data.length])
    this.size += data.length
    if (this.size >= this.options.packSize) await this.seal()
    return {location, added: true}
  }

  /** Seals the last pack and waits for every put; throws the first failure. */
  async finish(): Promise<void> {
    if (this.table.length > 0) await this.seal()
    await this.puts.drain()
    this.spare.length = 0
  }

  /** A buffer holding `used` bytes of `body` with room for `need`: a spare one, or a bigger one when the pack outgrows it. */
  private room(body: Buffer | undefined, need: number): Buffer {
    if (body && body.length >= need) return body
    const fresh = body === undefined ? this.spare.pop() : undefined
    if (fresh && fresh.length >= need) return fresh
    const grown = Buffer.allocUnsafeSlow(Math.max(need, this.options.packSize + SLACK))
    body?.copy(grown, 0, 0, this.size)
    return grown
  }

  private async seal(): Promise<void> {
    const tail = encodePackTail({format: 2, digest: this.options.digest, blobs: this.table})
    const buffer = this.room(this.body, this.size + tail.length)
    tail.copy(buffer, this.size)
    const body = buffer.subarray(0, this.size + tail.length)
    const handle = this.current
    handle.id = digestHex(body, this.options.digest)
    handle.size = body.length
    this.body = undefined
    this.table = []
    this.size = 0
    this.current = {size: 0}
    const id = handle.id
    const started = await this.puts.start(async () => {
      await this.options.put(id, body)
      this.uploadedBytes += body.length
      // The put is done with the bytes (a failed put's buffer is dropped, never reused).
      if (this.spare.length < 1) this.spare.push(buffer)
    })
    if (!started) await this.puts.drain()
  }
}
