import assert from 'node:assert/strict'
import {
  leaseExpired, nextAttemptOutcome, retryBackoffMs, heartbeatHealth, countFailedAttempts,
  DEFAULT_LEASE_MS, DEFAULT_MAX_ATTEMPTS, DEFAULT_RETRY_BASE_MS, DEFAULT_RETRY_MAX_MS,
  DEFAULT_HEARTBEAT_STALE_MS, DEFAULT_HEARTBEAT_DEAD_MS, DEFAULT_HEARTBEAT_INTERVAL_MS
} from '../../../crdt/rules/leases.js'
import { InvalidRuleOptionError } from '../../../crdt/rules/errors.js'
import type { ClaimView } from '../../../crdt/rules/claims.js'

describe('rules/leases', () => {
  it('has the documented defaults', () => {
    assert.equal(DEFAULT_LEASE_MS, 90_000)
    assert.equal(DEFAULT_MAX_ATTEMPTS, 3)
    assert.equal(DEFAULT_RETRY_BASE_MS, 5_000)
    assert.equal(DEFAULT_RETRY_MAX_MS, 300_000)
    assert.equal(DEFAULT_HEARTBEAT_INTERVAL_MS, 30_000)
    assert.equal(DEFAULT_HEARTBEAT_STALE_MS, 60_000)
    assert.equal(DEFAULT_HEARTBEAT_DEAD_MS, 120_000)
  })

  describe('leaseExpired', () => {
    const t0 = 1_000_000
    it('runs from the claim when nothing else is known', () => {
      assert.equal(leaseExpired({ lastHeartbeatAt: null, confirmedAt: null, claimedAt: t0, now: t0 + DEFAULT_LEASE_MS - 1 }), false)
      assert.equal(leaseExpired({ lastHeartbeatAt: null, confirmedAt: null, claimedAt: t0, now: t0 + DEFAULT_LEASE_MS }), true)
    })
    it('runs from the latest of heartbeat, confirmation and claim', () => {
      assert.equal(leaseExpired({ lastHeartbeatAt: t0 + 50_000, confirmedAt: t0 + 10, claimedAt: t0, now: t0 + 100_000 }), false)
      assert.equal(leaseExpired({ lastHeartbeatAt: null, confirmedAt: t0 + 20_000, claimedAt: t0, now: t0 + 100_000 }), false)
      assert.equal(leaseExpired({ lastHeartbeatAt: t0 - 5, confirmedAt: t0 + 5, claimedAt: t0, now: t0 + 90_005 }), true)
    })
    it('takes a custom lease and rejects a bad one', () => {
      assert.equal(leaseExpired({ lastHeartbeatAt: null, confirmedAt: null, claimedAt: 0, now: 10, leaseMs: 10 }), true)
      assert.throws(() => leaseExpired({ lastHeartbeatAt: null, confirmedAt: null, claimedAt: 0, now: 10, leaseMs: 0 }), InvalidRuleOptionError)
    })
    it('treats a base time in the future as fresh', () => {
      assert.equal(leaseExpired({ lastHeartbeatAt: t0 + 5_000, confirmedAt: null, claimedAt: t0, now: t0 }), false)
    })
  })

  describe('nextAttemptOutcome', () => {
    it('retries until maxAttempts have failed', () => {
      assert.deepEqual([0, 1, 2, 3, 4].map((failures) => nextAttemptOutcome({ failures })), ['retry', 'retry', 'retry', 'failed', 'failed'])
      assert.equal(nextAttemptOutcome({ failures: 1, maxAttempts: 1 }), 'failed')
      assert.throws(() => nextAttemptOutcome({ failures: 1, maxAttempts: 0 }), InvalidRuleOptionError)
      assert.throws(() => nextAttemptOutcome({ failures: 1, maxAttempts: 1.5 }), InvalidRuleOptionError)
    })

    it('counts each failed or expired attempt once', () => {
      const c = (attempt: number, state: ClaimView['state']): ClaimView =>
        ({ id: `${attempt}${state}`, taskId: 't', agentId: 'a', nodeId: 'n', attempt, clock: 1, state, confirmedAt: null })
      assert.equal(countFailedAttempts([c(0, 'expired'), c(0, 'active'), c(1, 'failed'), c(1, 'expired'), c(2, 'released'), c(3, 'active')]), 2)
    })
  })

  describe('retryBackoffMs', () => {
    it('doubles from the base up to the cap', () => {
      assert.deepEqual([0, 1, 2, 3, 4, 7, 8, 1000].map((n) => retryBackoffMs(n)), [0, 5_000, 10_000, 20_000, 40_000, 300_000, 300_000, 300_000])
      assert.equal(retryBackoffMs(3, { baseMs: 100, maxMs: 250 }), 250)
    })
    it('rejects a cap below the base', () => {
      assert.throws(() => retryBackoffMs(1, { baseMs: 10, maxMs: 5 }), InvalidRuleOptionError)
    })
  })

  describe('heartbeatHealth', () => {
    it('goes stale after 60 s and dead after 120 s', () => {
      assert.equal(heartbeatHealth(0, 30_000), 'healthy')
      assert.equal(heartbeatHealth(0, 59_999), 'healthy')
      assert.equal(heartbeatHealth(0, 60_000), 'stale')
      assert.equal(heartbeatHealth(0, 119_999), 'stale')
      assert.equal(heartbeatHealth(0, 120_000), 'dead')
      assert.equal(heartbeatHealth(null, 0), 'dead')
      assert.equal(heartbeatHealth(5_000, 0), 'healthy')
    })
    it('takes custom thresholds and rejects ones out of order', () => {
      assert.equal(heartbeatHealth(0, 5, { staleMs: 5, deadMs: 10 }), 'stale')
      assert.throws(() => heartbeatHealth(0, 5, { staleMs: 10, deadMs: 5 }), InvalidRuleOptionError)
    })
  })
})
