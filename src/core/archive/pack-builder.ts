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

export class PackBuilder {
  /** Every blob this take may reference: the base's and its own. */
  readonly known = new Map<string, BlobLocation>()
  /** Bytes of packs put. */
  uploadedBytes = 0
  private blobs: Buffer[] = []
  private table: PackBlob[] = []
  private size = 0
  private current: PackHandle = {size: 0}
  private readonly puts: Limiter

  constructor(private readonly options: PackBuilderOptions) {
    this.puts = new Limiter(options.inFlight ?? 4)
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
    this.blobs.push(Buffer.from(data))
    this.table.push([blobId, this.size, data.length])
    this.size += data.length
    if (this.size >= this.options.packSize) await this.seal()
    return {location, added: true}
  }

  /** Seals the last pack and waits for every put; throws the first failure. */
  async finish(): Promise<void> {
    if (this.table.length > 0) await this.seal()
    await this.puts.drain()
  }

  private async seal(): Promise<void> {
    const body = Buffer.concat([...this.blobs, encodePackTail({format: 2, digest: this.options.digest, blobs: this.table})])
    const handle = this.current
    handle.id = digestHex(body, this.options.digest)
    handle.size = body.length
    this.blobs = []
    this.table = []
    this.size = 0
    this.current = {size: 0}
    const id = handle.id
    const started = await this.puts.start(async () => {
      await this.options.put(id, body)
      this.uploadedBytes += body.length
    })
    if (!started) await this.puts.drain()
  }
}
