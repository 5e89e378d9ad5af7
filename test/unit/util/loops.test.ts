import assert from 'node:assert/strict'
import { AbortableLoop } from '../../../node/util/abortable-loop.js'
import { sleep } from '../../../bootstrap/backoff.js'
import { OncePerTick, TickBatch } from '../../../node/util/tick-batch.js'

const nextTick = async (): Promise<void> => { await new Promise<void>(resolve => setImmediate(resolve)) }

describe('node/util/abortable-loop and tick-batch', () => {
  it('runs a loop once however often started, and stop() aborts it and waits for it to end', async () => {
    let runs = 0
    let ended = false
    const loop = new AbortableLoop(async (signal) => {
      runs++
      while (!signal.aborted) await sleep(60_000, signal)
      ended = true
    }, (err) => { throw err })
    loop.start()
    loop.start()
    assert.equal(runs, 1)
    assert.equal(loop.running, true)
    await loop.stop()
    assert.equal(ended, true)
    assert.equal(loop.running, false)
    loop.start()
    assert.equal(runs, 2, 'a stopped loop starts again')
    await loop.stop()
  })

  it('hands an escaped error to onCrash instead of leaving it unhandled', async () => {
    const crashes: unknown[] = []
    const loop = new AbortableLoop(async () => { throw new Error('bug') }, (err) => { crashes.push(err) })
    loop.start()
    await loop.stop()
    assert.equal((crashes[0] as Error).message, 'bug')
  })

  it('coalesces what is scheduled or pushed in one turn into one call on the next', async () => {
    let calls = 0
    const once = new OncePerTick(() => { calls++ })
    once.schedule()
    once.schedule()
    assert.equal(calls, 0, 'not run synchronously')
    await nextTick()
    assert.equal(calls, 1)
    once.schedule()
    await nextTick()
    assert.equal(calls, 2)

    const batches: number[][] = []
    const batch = new TickBatch<number>((items) => { batches.push(items) })
    batch.push(1)
    batch.push(2, 3)
    await nextTick()
    batch.push(4)
    await nextTick()
    assert.deepEqual(batches, [[1, 2, 3], [4]])
  })
})
