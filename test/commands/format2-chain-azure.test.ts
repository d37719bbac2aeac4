// Issue 13, "a chain of 20 incremental takes" on Azure Blob Storage (Azurite): the scenario of
// format2-chain.test.ts with another seed, in its own file to keep each file's time short. Every
// checkpoint is restored from remote and mixed (the primary's range reads, and the local copy beside
// them); a restore from the local copy alone reads only the manifest and indexes from the primary,
// and the file store's chain does that for every checkpoint.
import {after, before, describe, it} from 'node:test'
import {chainScenario} from '../helpers/format2-chain.js'
import {azureKind} from '../helpers/primaries.js'

describe('a chain of 20 format-2 takes on the azure store', () => {
  before(() => azureKind.setup())
  after(() => azureKind.teardown())

  it('restores every checkpoint of the chain byte for byte from remote and mixed', () => chainScenario(azureKind, 1301, ['remote', 'mixed']))
})
