// Issue 13, "a chain of 20 incremental takes" on the file store: seeded random changes between
// format-2 takes, then every checkpoint of the chain restored byte for byte from local, from remote, and mixed.
import {describe, it} from 'node:test'
import {chainScenario} from '../helpers/format2-chain.js'
import {fileKind} from '../helpers/primaries.js'

describe('a chain of 20 format-2 takes on the file store', () => {
  it('restores every checkpoint of the chain byte for byte from local, from remote and mixed', () => chainScenario(fileKind, 1300))
})
