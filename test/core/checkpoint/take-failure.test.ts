// How a failed take reports its tasks' failures: in their own words, with their exit code, never cloned.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {failureOf} from '../../../src/core/checkpoint/take.js'
import {EXIT, NotFoundError, StoreUnavailableError} from '../../../src/core/errors.js'

describe('a failed take', () => {
  it('says once that an object was not found, and keeps the exit code and code of the first failure', () => {
    const error = failureOf('chk-3', [new NotFoundError('jobs/j/data/chk-3/a.tar'), new Error('disk full')])
    assert.equal(error.message, 'checkpoint chk-3 failed: object jobs/j/data/chk-3/a.tar not found; disk full')
    assert.equal(error.code, 'NOT_FOUND')
    assert.equal(error.exit, EXIT.failed)
    const store = failureOf('chk-4', [new StoreUnavailableError('primary store x: connection refused')])
    assert.equal(store.exit, EXIT.store)
    assert.equal(store.code, 'STORE_UNAVAILABLE')
    assert.equal(store.message, 'checkpoint chk-4 failed: primary store x: connection refused')
  })
})
