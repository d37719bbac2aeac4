// Faults of the Azure primary through a fault-injecting proxy in front of Azurite: a commit whose
// answer is lost, a store that cannot say whether the commit landed, and a first request that fails.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {keys} from '../../src/core/format/keys.js'
import {checkpointJob, type CheckpointJob} from '../helpers/checkpoints.js'
import {FaultProxy} from '../helpers/fault-proxy.js'
import {azureKind} from '../helpers/primaries.js'
import {FORMAT_1} from '../helpers/job.js'

const manifestPut = (id: string) => new RegExp(`/manifests/${id}\\.json\\?.*comp=blocklist`)

async function withProxy(test: (j: CheckpointJob, proxy: FaultProxy, env: Record<string, string>) => Promise<void>): Promise<void> {
  const j = await checkpointJob(azureKind, {tasks: ['alpha'], extra: FORMAT_1})
  const proxy = await FaultProxy.start(azureKind.server().port)
  try {
    await test(j, proxy, {AZURE_STORAGE_CONNECTION_STRING: proxy.via(j.target.env.AZURE_STORAGE_CONNECTION_STRING)})
  } finally {
    await proxy.close()
    await j.cleanup()
  }
}

describe('a commit whose answer is lost (Azure through a fault proxy)', () => {
  before(() => azureKind.setup())
  after(() => azureKind.teardown())

  it('resolves the lost answer by reading: the take succeeds, and prune --retain 1 leaves a restorable checkpoint', async () => {
    await withProxy(async (j, proxy, env) => {
      await j.take(1)
      // Every try of the commit lands and every answer is lost.
      const rule = proxy.add({method: 'PUT', url: manifestPut('chk-2'), times: Infinity, fault: 'reset-after-answer'})
      const take = await j.ckpt(['checkpoint', 'take'], env)
      assert.ok(rule.hits >= 1, 'the commit was reset')
      assert.equal(take.code, 0, `the take failed: ${take.stdout}${take.stderr}`)
      assert.equal(take.json.checkpointId, 'chk-2')
      proxy.clear()
      const job = j.ctx.job.name
      assert.ok(await j.ctx.primary.stat(keys.archive(job, 'chk-2', 'alpha')), 'the data under the manifest stay')
      const prune = await j.ckpt(['checkpoint', 'prune', '--retain', '1'], env)
      assert.equal(prune.code, 0, prune.stderr)
      assert.deepEqual([prune.json.kept, prune.json.removed], [['chk-2'], ['chk-1']])
      const restore = await j.ckpt(['restore', '--prefer', 'remote'], env)
      assert.equal(restore.code, 0, restore.stdout + restore.stderr)
      assert.equal(restore.json.checkpointId, 'chk-2')
    })
  })

  it('leaves the data alone when the outcome cannot be read, so the committed checkpoint restores', async () => {
    await withProxy(async (j, proxy, env) => {
      await j.take(1)
      proxy.add({method: 'PUT', url: manifestPut('chk-2'), times: Infinity, fault: 'reset-after-answer'})
      // Reading the manifest back fails too: the outcome stays unknown.
      for (const method of ['GET', 'HEAD']) proxy.add({method, url: /\/manifests\/chk-2\.json/, times: Infinity, fault: {status: 503, retryAfter: '0'}})
      const take = await j.ckpt(['checkpoint', 'take'], env)
      assert.equal(take.code, 5, `exit ${take.code}: ${take.stdout}${take.stderr}`)
      assert.match(take.json.error.message, /chk-2.*outcome.*unknown/i)
      proxy.clear()
      const job = j.ctx.job.name
      assert.ok(await j.ctx.primary.stat(keys.manifest(job, 'chk-2')), 'the commit landed')
      assert.ok(await j.ctx.primary.stat(keys.archive(job, 'chk-2', 'alpha')), 'the data a manifest may name are left alone')
      const restore = await j.ckpt(['restore', '--prefer', 'remote'], env)
      assert.equal(restore.code, 0, restore.stdout + restore.stderr)
      assert.equal(restore.json.checkpointId, 'chk-2')
      assert.deepEqual(restore.json.fallbacks ?? [], [])
    })
  })
})

describe('the first Azure request (the open check) is retried like every other', () => {
  before(() => azureKind.setup())
  after(() => azureKind.teardown())

  it('retries a 503 with Retry-After, waiting as long as it says, and a reset', async () => {
    await withProxy(async (j, proxy, env) => {
      await j.take(1)
      const busy = proxy.add({method: 'GET', url: /comp=list&prefix=prefix%2F&maxresults=1&/, times: 1, fault: {status: 503, retryAfter: '2'}})
      const list = await j.ckpt(['checkpoint', 'list'], env)
      assert.equal(busy.hits, 1, JSON.stringify(proxy.log))
      assert.equal(list.code, 0, `exit ${list.code}: ${list.stdout}${list.stderr}`)
      assert.deepEqual(
        list.json.checkpoints.map((c: any) => c.checkpointId),
        ['chk-1'],
      )
      const lists = proxy.log.filter((r) => r.method === 'GET' && /comp=list/.test(r.url))
      assert.ok(lists[1].at - lists[0].at >= 1900, `the retry waited ${lists[1].at - lists[0].at} ms, Retry-After said 2 s`)

      proxy.log.length = 0
      const reset = proxy.add({method: 'GET', url: /comp=list/, times: 1, fault: 'reset-after-answer'})
      const again = await j.ckpt(['checkpoint', 'list'], env)
      assert.equal(reset.hits, 1)
      assert.equal(again.code, 0, `exit ${again.code}: ${again.stdout}${again.stderr}`)
    })
  })
})
