// Reads one format-2 pack for 'checkpoint verify --read-data': its trailer first (a range read of
// its tail), then its bytes as a stream, hashing the whole pack and each blob on the way, so a
// pack is never held in memory; a pack whose trailer cannot be read is read whole instead.
import {StoreUnavailableError, ManifestError, messageOf} from '../errors.js'
import {getBuffer, type PrimaryStore} from '../stores/store.js'
import {digestHex, digestReady, isDigestAlgorithm, isHexDigest, newDigester, type DigestAlgorithm, type Digester} from '../util/digest.js'
import {PACK_FOOTER_SIZE, parsePack, trailerLength, type PackBlob} from '../format/pack.js'

/** What one pack read says: pack-level problems, and each blob's actual digest by `offset:length`. */
export interface PackVerdict {
  bytes: number
  problems: string[]
  digests: {get(where: string): string | undefined}
}

/** The tail read at once: the footer and, nearly always, the whole trailer. */
const TAIL = 64 << 10

export async function readPack(primary: PrimaryStore, key: string, packId: string, size: number, digest: DigestAlgorithm): Promise<PackVerdict> {
  await digestReady(digest)
  let blobs: PackBlob[] | undefined
  try {
    blobs = await readTrailer(primary, key, size, digest)
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw error
  }
  try {
    return blobs ? await streamPack(primary, key, packId, size, digest, blobs) : await wholePack(primary, key, packId, size, digest)
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw error
    return {bytes: 0, problems: [`cannot be read: ${messageOf(error)}`], digests: new Map()}
  }
}

/** The blobs a pack's trailer lists, checked as parsePack checks them; throws when it cannot be read. */
async function readTrailer(primary: PrimaryStore, key: string, size: number, digest: DigestAlgorithm): Promise<PackBlob[]> {
  const where = `pack ${key}`
  if (size < PACK_FOOTER_SIZE) throw new ManifestError(`${where}: too short for its footer`)
  const tailLength = Math.min(size, TAIL)
  let tail = await readRange(primary, key, size - tailLength, tailLength)
  const length = trailerLength(tail.subarray(tail.length - PACK_FOOTER_SIZE), where)
  const start = size - PACK_FOOTER_SIZE - length
  if (start < 0) throw new ManifestError(`${where}: trailer length ${length} exceeds the pack`)
  if (length + PACK_FOOTER_SIZE > tail.length) tail = await readRange(primary, key, start, length + PACK_FOOTER_SIZE)
  const json = tail.subarray(tail.length - PACK_FOOTER_SIZE - length, tail.length - PACK_FOOTER_SIZE)
  const trailer = JSON.parse(json.toString('utf8')) as {format?: unknown; digest?: unknown; blobs?: unknown}
  if (trailer?.format !== 2 || !isDigestAlgorithm(trailer.digest) || trailer.digest !== digest || !Array.isArray(trailer.blobs)) throw new ManifestError(`${where}: trailer is malformed`)
  let end = 0
  for (const blob of trailer.blobs as PackBlob[]) {
    const ok = Array.isArray(blob) && isHexDigest(blob[0]) && Number.isSafeInteger(blob[1]) && Number.isSafeInteger(blob[2]) && blob[1] >= end && blob[2] >= 0
    if (!ok || blob[1] + blob[2] > start) throw new ManifestError(`${where}: trailer lists a blob outside the pack`)
    end = blob[1] + blob[2]
  }
  return trailer.blobs as PackBlob[]
}

async function readRange(primary: PrimaryStore, key: string, offset: number, length: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of await primary.get(key, {range: {offset, length}})) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** One pass over the pack: the whole pack's digest and each listed blob's. */
async function streamPack(primary: PrimaryStore, key: string, packId: string, size: number, digest: DigestAlgorithm, blobs: PackBlob[]): Promise<PackVerdict> {
  const whole = newDigester(digest)
  const digests = new Map<string, string>()
  let i = 0
  let current: Digester | undefined
  let pos = 0
  for await (const data of await primary.get(key)) {
    const chunk = data as Buffer
    whole.update(chunk)
    const end = pos + chunk.length
    while (i < blobs.length && blobs[i][1] <= end) {
      const [, offset, length] = blobs[i]
      current ??= newDigester(digest)
      current.update(chunk.subarray(Math.max(0, offset - pos), Math.min(chunk.length, offset + length - pos)))
      if (offset + length > end) break
      digests.set(`${offset}:${length}`, current.hex())
      current = undefined
      i++
    }
    pos = end
  }
  const problems: string[] = []
  if (pos !== size) problems.push(`read ${pos} bytes, the index says ${size}`)
  const actual = whole.hex()
  if (actual !== packId) problems.push(`the pack's ${digest} digest is ${actual.slice(0, 12)}…, not its name`)
  return {bytes: pos, problems, digests}
}

/** A pack whose trailer cannot be read: read whole, so each range an index names can still be checked. */
async function wholePack(primary: PrimaryStore, key: string, packId: string, size: number, digest: DigestAlgorithm): Promise<PackVerdict> {
  const bytes = await getBuffer(primary, key, size)
  const problems: string[] = []
  const actual = digestHex(bytes, digest)
  if (actual !== packId) problems.push(`the pack's ${digest} digest is ${actual.slice(0, 12)}…, not its name`)
  try {
    parsePack(bytes, `pack ${key}`)
  } catch (error) {
    problems.push(messageOf(error))
  }
  return {bytes: bytes.length, problems, digests: new BlobDigests(bytes, digest)}
}

/** Blob digests of a pack whose trailer cannot be read, by the ranges the indexes name. */
class BlobDigests {
  private readonly done = new Map<string, string>()
  constructor(
    private readonly bytes: Buffer,
    private readonly digest: DigestAlgorithm,
  ) {}
  get(where: string): string | undefined {
    const known = this.done.get(where)
    if (known !== undefined) return known
    const [offset, length] = where.split(':').map(Number)
    if (offset + length > this.bytes.length) return undefined
    const value = digestHex(this.bytes.subarray(offset, offset + length), this.digest)
    this.done.set(where, value)
    return value
  }
}
