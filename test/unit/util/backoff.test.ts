import assert from 'node:assert/strict'
import { Backoff, backoffDelay, sleep } from '../../../bootstrap/backoff.js'

describe('bootstrap/backoff', () => {
  it('grows exponentially with jitter between half and the full cap, capped at max', () => {
    const lo = { random: () => 0 }
    const hi = { random: () => 0.999999 }
    assert.equal(backoffDelay(1, lo), 500)
    assert.equal(backoffDelay(1, hi), 1000)
    assert.equal(backoffDelay(4, lo), 4000)
    assert.equal(backoffDelay(30, { ...hi, maxMs: 60_000 }), 60_000)
    assert.equal(backoffDelay(1000, { ...lo, baseMs: 10, maxMs: 100 }), 50)
  })

  it('never returns 0, so no caller can retry without yielding to timers', () => {
    assert.equal(backoffDelay(1, { baseMs: 0, random: () => 0 }), 1)
    assert.equal(backoffDelay(1, { baseMs: 1, random: () => 0 }), 1)
  })

  it('Backoff counts failures until reset and spreads callers that failed together', () => {
    const b = new Backoff({ baseMs: 100, maxMs: 1000, random: () => 1 })
    assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1000, 1000])
    assert.equal(b.failures, 6)
    b.reset()
    assert.equal(b.failures, 0)
    assert.equal(b.next(), 100)
    // Ten callers failing at the same moment do not all retry at the same moment.
    const delays = new Set(Array.from({ length: 10 }, () => new Backoff({ baseMs: 1000 }).next()))
    assert.ok(delays.size > 1, `jitter spreads retries: ${[...delays].join(', ')}`)
  })

  it('sleep ends early when its signal aborts and never rejects', async () => {
    const c = new AbortController()
    const t0 = Date.now()
    setTimeout(() => c.abort(), 20)
    await sleep(10_000, c.signal)
    assert.ok(Date.now() - t0 < 5000)
    await sleep(10_000, c.signal) // already aborted: returns at once
  })
})
