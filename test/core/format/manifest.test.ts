import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {FORMAT_1, FORMAT_VERSION} from '../../../src/core/format/keys.js'
import {isAborted, parseCommitRecord, parseManifest} from '../../../src/core/format/manifest.js'
import {ManifestError, NewerFormatError} from '../../../src/core/errors.js'

const doc = (format: unknown) => Buffer.from(JSON.stringify({format, job: 'j', checkpointId: 'chk-1', createdAt: '', completedAt: '', node: 'n', tasks: []}))

describe('manifest format', () => {
  it('reads its own format', () => {
    assert.equal(parseManifest(doc(FORMAT_VERSION), 'x').checkpointId, 'chk-1')
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
