// The on-store vocabulary: checkpoint ids and every key of docs/FORMAT.md, built and read in one module.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {checkpointNumber, compareCheckpointIds, formatCheckpointId, parseCheckpointId} from '../../../src/core/format/ids.js'
import {checkpointIdOfKey, keys, lockIdOfKey, prunedIdOfKey} from '../../../src/core/format/keys.js'
import {parseManifest} from '../../../src/core/format/manifest.js'
import {ManifestError} from '../../../src/core/errors.js'

describe('checkpoint ids', () => {
  it('format and parse are each other’s inverse; anything not chk-N is refused', () => {
    assert.equal(formatCheckpointId(12), 'chk-12')
    assert.equal(parseCheckpointId(formatCheckpointId(12)), 'chk-12')
    assert.equal(checkpointNumber(formatCheckpointId(7)), 7)
    for (const bad of ['chk-0', 'chk-01', 'chk-', 'chk-1x', 'latest', 'CHK-1', ' chk-1', 'chk-12345678901234567']) assert.equal(parseCheckpointId(bad), undefined, bad)
    assert.deepEqual(['chk-10', 'chk-9', 'chk-100'].sort(compareCheckpointIds), ['chk-9', 'chk-10', 'chk-100'])
  })
})

describe('keys', () => {
  const id = formatCheckpointId(3)
  it('are the layout of docs/FORMAT.md', () => {
    assert.deepEqual(
      [
        keys.jobRecord('j'),
        keys.claim('j', id),
        keys.manifest('j', id),
        keys.dataPrefix('j', id),
        keys.archive('j', id, 't'),
        keys.index('j', id, 't'),
        keys.lock('j', 'shared-u'),
        keys.pruning('j', id),
      ],
      ['j/job.json', 'j/claims/chk-3.json', 'j/manifests/chk-3.json', 'j/data/chk-3/', 'j/data/chk-3/t.tar', 'j/data/chk-3/t.index.json', 'j/locks/shared-u.json', 'j/pruning/chk-3.json'],
    )
  })

  it('give back the id they were built from, and only for their own job', () => {
    for (const key of [keys.claim('j', id), keys.manifest('j', id), keys.archive('j', id, 't'), keys.index('j', id, 't')]) assert.equal(checkpointIdOfKey('j', key), id, key)
    assert.equal(checkpointIdOfKey('jj', keys.manifest('j', id)), undefined)
    assert.equal(checkpointIdOfKey('j', keys.pruning('j', id)), undefined, 'a pruning marker is not one of the checkpoint’s objects')
    assert.equal(checkpointIdOfKey('j', 'j/manifests/chk-03.json'), undefined)
    assert.equal(prunedIdOfKey('j', keys.pruning('j', id)), id)
    assert.equal(prunedIdOfKey('j', keys.manifest('j', id)), undefined)
    assert.equal(lockIdOfKey('j', keys.lock('j', 'exclusive-1234')), 'exclusive-1234')
  })
})

describe('manifest checkpoint id', () => {
  it('is refused when it is not of the form chk-N', () => {
    const doc = Buffer.from(JSON.stringify({format: 1, job: 'j', checkpointId: 'chk-x', createdAt: '', completedAt: '', node: 'n', tasks: []}))
    assert.throws(
      () => parseManifest(doc, 'x'),
      (e: unknown) => e instanceof ManifestError && /"chk-x".*not of the form chk-N/.test(e.message),
    )
  })
})
