// A format-2 job's settings in the primary store (JOB/config.json), fixed by its first format-2
// take: the digest and chunk size decide every blob's id, so they never change for the job.
import {ManifestError} from '../errors.js'
import {isDigestAlgorithm, type DigestAlgorithm} from '../util/digest.js'

export interface JobConfig {
  format: 2
  digest: DigestAlgorithm
  chunkSize: number
  packSize: number
  createdAt: string
  node: string
}

export function parseJobConfig(raw: Buffer, where: string): JobConfig {
  let doc: JobConfig
  try {
    doc = JSON.parse(raw.toString('utf8'))
  } catch (error) {
    throw new ManifestError(`${where} is not valid JSON (${(error as Error).message})`)
  }
  const sizes = [doc?.chunkSize, doc?.packSize].every((n) => Number.isSafeInteger(n) && n >= 4096 && n <= 1 << 30)
  if (doc?.format !== 2 || !isDigestAlgorithm(doc.digest) || !sizes) throw new ManifestError(`${where} is malformed (format, digest, chunkSize or packSize)`)
  return doc
}
