// Two Azure stores that show the same address (the same container name) in two accounts are
// still two primaries: secondary copies record the identity, which names the account.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parseAzureAddress} from '../../../src/core/stores/azure-address.js'

const connection = (account: string) => `DefaultEndpointsProtocol=https;AccountName=${account};AccountKey=${Buffer.from(`key-of-${account}`).toString('base64')};EndpointSuffix=core.windows.net`

describe('azure address identity', () => {
  it('tells two accounts apart where the display address does not, and holds no secret', () => {
    const a = parseAzureAddress('azure://orders/prod', {AZURE_STORAGE_CONNECTION_STRING: connection('acct1')})
    const b = parseAzureAddress('azure://orders/prod', {AZURE_STORAGE_CONNECTION_STRING: connection('acct2')})
    assert.equal(a.display, b.display)
    assert.notEqual(a.identity, b.identity)
    assert.match(a.identity, /acct1/)
    assert.doesNotMatch(a.identity, new RegExp(Buffer.from('key-of-acct1').toString('base64')))
  })

  it('is the same for one account reached through two endpoints (a proxy, Azurite on another port)', () => {
    const direct = parseAzureAddress('http://127.0.0.1:10000/devstoreaccount1/orders/prod?sv=2022-11-02&sp=rl&sig=abc', {})
    const proxied = parseAzureAddress('http://127.0.0.1:20000/devstoreaccount1/orders/prod?sv=2022-11-02&sp=rl&sig=abc', {})
    assert.equal(direct.identity, proxied.identity)
  })

  it('names the account of a container URL, without its SAS token', () => {
    const a = parseAzureAddress('https://acct1.blob.core.windows.net/orders/prod?sv=2022-11-02&sp=rl&sig=abc', {})
    const b = parseAzureAddress('https://acct2.blob.core.windows.net/orders/prod?sv=2022-11-02&sp=rl&sig=abc', {})
    assert.notEqual(a.identity, b.identity)
    assert.doesNotMatch(a.identity, /sig=/)
  })
})
