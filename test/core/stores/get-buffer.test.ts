import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {FileStore} from '../../../src/core/stores/file-store.js'
import {getBuffer} from '../../../src/core/stores/store.js'
import {tempDir} from '../../helpers/primaries.js'

describe('getBuffer', () => {
  it('returns the object whatever the size hint says: right, too small, too big, absent or absurd', async () => {
    const {dir, cleanup} = await tempDir()
    try {
      const store = new FileStore(path.join(dir, 'store'))
      const body = randomBytes(3 << 20)
      await store.put('k', body)
      for (const hint of [body.length, 1000, body.length + 12345, undefined, -1, 2 ** 60, 0.5]) {
        assert.ok((await getBuffer(store, 'k', hint)).equals(body), `hint ${hint}`)
      }
    } finally {
      await cleanup()
    }
  })
})
