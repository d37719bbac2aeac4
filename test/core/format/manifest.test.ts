import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {FORMAT_1, FORMAT_VERSION} from '../../../src/core/format/keys.js'
import {isAborted, parseCommitRecord, parseManifest} from '../../../src/core/format/manifest.js'
import {ManifestError, NewerFormatError} from '../../../src/core/errors.js'

const doc = (format: unknown) => Buffer.from(JSON.stringify({format, job: 'j', checkpointId: 'chk-1', createdAt: '', completedAt: '', node: 'n', tasks: []}))

describe('manifest format', () => {
  it('reads both its formats, and an abort record is not a manifest', () => {
    assert.equal(parseManifest(doc(FORMAT_1), 'x').format, FORMAT_1)
    const v2 = {format: 2, job: 'j', checkpointId: 'chk-1', status: 'completed', epoch: 0, digest: 'blake3', chunkSize: 1 << 20, createdAt: '', completedAt: '', node: 'n', tasks: []}
    assert.equal(parseManifest(Buffer.from(JSON.stringify(v2)), 'x').format, FORMAT_VERSION)
    assert.throws(() => parseManifest(Buffer.from(JSON.stringify({...v2, status: 'maybe'})), 'x'), /unknown status "maybe"/)
    assert.throws(() => parseManifest(Buffer.from(JSON.stringify({...v2, digest: 'md5'})), 'x'), /unknown digest "md5"/)
    const aborted = {format: 2, job: 'j', checkpointId: 'chk-1', status: 'aborted', epoch: 0, reason: 'a task did not acknowledge', abortedAt: '', node: 'n'}
    assert.equal(isAborted(parseCommitRecord(Buffer.from(JSON.stringify(aborted)), 'x')), true)
    assert.throws(() => parseManifest(Buffer.from(JSON.stringify(aborted)), 'x'), /aborted \(a task did not acknowledge\); it never completed/)
  })

  it('says why it cannot read a newer or unknown format', () => {
    assert.throws(
      () => parseManifest(doc(FORMAT_VERSION + 1), 'x'),
      (e: unknown) => e instanceof NewerFormatError && !(e instanceof ManifestError) && /newer than this ckpt understands.*upgrade ckpt/.test(e.message),
    )
    assert.throws(() => parseManifest(doc(undefined), 'x'), /no format version/)
    assert.throws(() => parseManifest(Buffer.from('{not json'), 'x'), /not valid JSON/)
  })
})
