// A format-2 pack: blobs back to back, then a trailer (JSON) that lists them, then a 16-byte
// footer, so a pack can be read alone (docs/FORMAT.md, "Packs").
import {ManifestError} from '../errors.js'
import {isDigestAlgorithm, isHexDigest, type DigestAlgorithm} from '../util/digest.js'

export const PACK_MAGIC = 'CKPTPAK2'
export const PACK_FOOTER_SIZE = 16
/** A file of at most this many bytes is one blob; a bigger one is cut into chunks of this size. */
export const DEFAULT_CHUNK_SIZE = 1 << 20
/** A pack is closed once it holds this many bytes of blobs (a blob never straddles packs). */
export const DEFAULT_PACK_SIZE = 16 << 20

/** [blobId, offset, length] of one blob in its pack. */
export type PackBlob = [blobId: string, offset: number, length: number]

export interface PackTrailer {
  format: 2
  digest: DigestAlgorithm
  blobs: PackBlob[]
}

/** The trailer and footer that follow a pack's blobs. */
export function encodePackTail(trailer: PackTrailer): Buffer {
  const json = Buffer.from(JSON.stringify(trailer))
  const footer = Buffer.alloc(PACK_FOOTER_SIZE)
  footer.write(PACK_MAGIC, 0, 'latin1')
  footer.writeUInt32BE(json.length, 8)
  return Buffer.concat([json, footer])
}

/** The length of the trailer, from the last 16 bytes of a pack. */
export function trailerLength(footer: Buffer, where: string): number {
  if (footer.length !== PACK_FOOTER_SIZE || footer.toString('latin1', 0, 8) !== PACK_MAGIC) throw new ManifestError(`${where}: not a ckpt pack (no ${PACK_MAGIC} footer)`)
  return footer.readUInt32BE(8)
}

/** Parses the trailer of a whole pack and checks that its blobs lie inside it, in order. */
export function parsePack(pack: Buffer, where: string): PackTrailer {
  if (pack.length < PACK_FOOTER_SIZE) throw new ManifestError(`${where}: pack is ${pack.length} bytes, too short for its footer`)
  const length = trailerLength(pack.subarray(pack.length - PACK_FOOTER_SIZE), where)
  const start = pack.length - PACK_FOOTER_SIZE - length
  if (start < 0) throw new ManifestError(`${where}: pack trailer length ${length} exceeds the pack`)
  let trailer: PackTrailer
  try {
    trailer = JSON.parse(pack.toString('utf8', start, start + length))
  } catch (error) {
    throw new ManifestError(`${where}: pack trailer is not valid JSON (${(error as Error).message})`)
  }
  if (trailer?.format !== 2 || !isDigestAlgorithm(trailer.digest) || !Array.isArray(trailer.blobs)) throw new ManifestError(`${where}: pack trailer is malformed`)
  let end = 0
  for (const blob of trailer.blobs) {
    const ok = Array.isArray(blob) && isHexDigest(blob[0]) && Number.isSafeInteger(blob[1]) && Number.isSafeInteger(blob[2]) && blob[1] >= end && blob[2] >= 0
    if (!ok || blob[1] + blob[2] > start) throw new ManifestError(`${where}: pack trailer lists a blob outside the pack`)
    end = blob[1] + blob[2]
  }
  return trailer
}
