import assert from 'node:assert/strict'
import {setTimeout as sleep} from 'node:timers/promises'
import {describe, it} from 'node:test'
import {Limiter, mapLimit} from '../../../src/core/util/pool.js'

describe('mapLimit', () => {
  it('keeps the items order whatever order they finish in', async () => {
    const out = await mapLimit([30, 5, 20, 1, 10], 3, async (ms, i) => {
      await sleep(ms)
      return `${i}:${ms}`
    })
    assert.deepEqual(out, ['0:30', '1:5', '2:20', '3:1', '4:10'])
  })

  it('never runs more than `limit` at once, and uses all of them', async () => {
    let running = 0
    let most = 0
    await mapLimit(
      Array.from({length: 40}, (_, i) => i),
      4,
      async (i) => {
        most = Math.max(most, ++running)
        await sleep(i % 3)
        running--
      },
    )
    assert.equal(most, 4)
  })

  it('handles no items and a limit above the count', async () => {
    assert.deepEqual(await mapLimit([], 8, async () => 1), [])
    assert.deepEqual(await mapLimit([1, 2], 8, async (x) => x * 2), [2, 4])
  })

  it('starts no item after the first failure', async () => {
    const started: number[] = []
    await assert.rejects(
      mapLimit(
        Array.from({length: 20}, (_, i) => i),
        3,
        async (i) => {
          started.push(i)
          if (i === 1) throw new Error('item 1 failed')
          await sleep(20)
        },
      ),
      /item 1 failed/,
    )
    await sleep(100)
    assert.deepEqual(
      started.sort((a, b) => a - b),
      [0, 1, 2],
    )
  })

  it('waits for the items in flight before it rejects, with the first error', async () => {
    const finished: number[] = []
    let rejectedAt = 0
    await mapLimit([0, 1, 2], 3, async (i) => {
      await sleep(10 + i * 50)
      if (i === 0) throw new Error('first')
      finished.push(i)
      if (i === 2) throw new Error('second')
    }).catch((error: Error) => {
      rejectedAt = finished.length
      assert.equal(error.message, 'first')
    })
    assert.equal(rejectedAt, 2, 'both items in flight had finished when it rejected')
  })
})

describe('Limiter', () => {
  it('starts work as it comes, at most `limit` (or the lower room) at once, and drains', async () => {
    const limiter = new Limiter(3)
    let running = 0
    let most = 0
    const job = async () => {
      most = Math.max(most, ++running)
      await sleep(5)
      running--
    }
    for (let i = 0; i < 10; i++) assert.equal(await limiter.start(job), true)
    assert.equal(most, 3)
    most = 0
    for (let i = 0; i < 5; i++) await limiter.start(job, 1)
    await limiter.drain()
    assert.equal(running, 0)
  })

  it('starts nothing once work has failed, and drain throws the first failure after the rest finished', async () => {
    const limiter = new Limiter(2)
    let slowDone = false
    await limiter.start(async () => {
      await sleep(50)
      slowDone = true
    })
    await limiter.start(async () => {
      throw new Error('boom')
    })
    await sleep(5)
    assert.equal(limiter.failed, true)
    assert.equal(await limiter.start(async () => assert.fail('must not start')), false)
    await assert.rejects(limiter.drain(), /boom/)
    assert.equal(slowDone, true)
  })
})
