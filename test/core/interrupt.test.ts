// After an interruption no uninterruptible step starts: its cleanups may be removing what the
// step would use (an interrupted restore must not swap in a staging folder being deleted).
// Its own file: the interruption is process-wide.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {InterruptedError} from '../../src/core/errors.js'
import {interrupt, interruptSignal, onInterrupt, uninterruptible} from '../../src/core/interrupt.js'

describe('interrupt', () => {
  it('waits for a step in flight, runs the cleanups newest first, and starts no step after', async () => {
    const order: string[] = []
    onInterrupt(() => void order.push('first registered'))
    onInterrupt(() => void order.push('last registered'))
    let finishStep!: () => void
    const step = uninterruptible(() => new Promise<void>((resolve) => (finishStep = resolve)).then(() => void order.push('step')))
    const interrupted = interrupt('SIGINT')
    assert.equal(interruptSignal.aborted, true)
    await new Promise((resolve) => setTimeout(resolve, 20))
    assert.deepEqual(order, [], 'cleanups wait for the step in flight')
    finishStep()
    await Promise.all([step, interrupted])
    assert.deepEqual(order, ['step', 'last registered', 'first registered'])
    let ran = false
    await assert.rejects(
      uninterruptible(async () => void (ran = true)),
      (error) => error instanceof InterruptedError,
    )
    assert.equal(ran, false, 'a step after the interruption never starts')
  })
})
