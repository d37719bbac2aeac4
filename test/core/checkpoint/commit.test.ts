// The commit of a take when its outcome cannot be known: a manifest write that never answers.
// The store is Azurite behind the fault proxy, with a short request timeout to keep the test quick.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {listCheckpoints} from '../../../src/core/catalogue/listing.js'
import {keys} from '../../../src/core/format/keys.js'
import {takeCheckpoint} from '../../../src/core/checkpoint/take.js'
import {createAzureStore} from '../../../src/core/stores/azure-store.js'
import {withRetry} from '../../../src/core/stores/retry.js'
import {checkpointJob} from '../../helpers/checkpoints.js'
import {FaultProxy} from '../../helpers/fault-proxy.js'
import {azureKind} from '../../helpers/primaries.js'
import {FORMAT_1} from '../../helpers/job.js'

describe('a commit that never answers', () => {
  before(() => azureKind.setup())
  after(() => azureKind.teardown())

  it('fails the take as unknown, leaves the primary data alone and removes the secondary copies', async () => {
    const j = await checkpointJob(azureKind, {tasks: ['alpha'], extra: FORMAT_1})
    const proxy = await FaultProxy.start(azureKind.server().port)
    const inner = createAzureStore(j.target.url, {baseDir: j.dir, env: {AZURE_STORAGE_CONNECTION_STRING: proxy.via(j.target.env.AZURE_STORAGE_CONNECTION_STRING)}, requestTimeoutMs: 1000})
    const ctx = {...j.ctx, primary: withRetry(inner, {maxElapsedMs: 20_000})}
    try {
      await j.take(1)
      const stall = proxy.add({method: 'PUT', url: /\/manifests\/chk-2\.json\?.*comp=blocklist/, times: Infinity, fault: {stall: true}})
      const warnings: string[] = []
      await assert.rejects(takeCheckpoint(ctx, {onWarning: (w) => warnings.push(w)}), /checkpoint chk-2: the commit's outcome is unknown .*no answer.*left in place/)
      assert.ok(stall.hits >= 2, `the commit was tried ${stall.hits} times`)
      const job = j.ctx.job.name
      assert.ok(await j.ctx.primary.stat(keys.archive(job, 'chk-2', 'alpha')), 'the archive a late commit would name stays')
      assert.ok(await j.ctx.primary.stat(keys.index(job, 'chk-2', 'alpha')), 'the index stays')
      assert.deepEqual(
        (await j.ctx.secondary.list()).filter((c) => c.checkpointId === 'chk-2'),
        [],
        'no secondary copy of the failed take',
      )
      const listed = await listCheckpoints(j.ctx)
      assert.deepEqual(
        listed.checkpoints.map((c) => [c.checkpointId, c.status]),
        [
          ['chk-1', 'completed'],
          ['chk-2', 'incomplete'],
        ],
      )
    } finally {
      await inner.close()
      await proxy.close()
      await j.cleanup()
    }
  })
})
