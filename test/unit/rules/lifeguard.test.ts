import assert from 'node:assert/strict'
import {
  DEFAULT_MAX_LOCAL_HEALTH, expectedConfirmations, nextHealth, scaledByHealth, suspicionTimeoutMs
} from '../../../crdt/rules/lifeguard.js'
import { InvalidRuleOptionError } from '../../../crdt/rules/errors.js'

describe('rules/lifeguard: local health and suspicion confirmations', () => {
  it('keeps the local-health score within 0..max and scales timeouts by score + 1', () => {
    let s = 0
    for (let i = 0; i < 20; i++) s = nextHealth(s, 1)
    assert.equal(s, DEFAULT_MAX_LOCAL_HEALTH)
    for (let i = 0; i < 20; i++) s = nextHealth(s, -1)
    assert.equal(s, 0)
    assert.equal(scaledByHealth(500, 0), 500)
    assert.equal(scaledByHealth(500, 3), 2000)
  })

  it('runs an unconfirmed suspicion for the longest time, shrinking on a log scale to the shortest at k confirmations', () => {
    const min = 5000
    const max = 15000
    const k = expectedConfirmations(8)
    assert.equal(k, 2)
    const t = [0, 1, 2, 3].map(c => suspicionTimeoutMs(min, max, k, c))
    assert.equal(t[0], max)
    assert.ok((t[1] as number) < max && (t[1] as number) > min, `one confirmation: ${t[1]} between ${min} and ${max}`)
    assert.equal(t[2], min)
    assert.equal(t[3], min, 'never under the shortest')
  })

  it('expects no confirmation where nobody else can give one, and then runs the shortest suspicion (the old rule)', () => {
    assert.equal(expectedConfirmations(1), 0)
    assert.equal(expectedConfirmations(0), 0)
    assert.equal(expectedConfirmations(2), 1)
    assert.equal(suspicionTimeoutMs(5000, 15000, 0, 0), 5000)
    assert.throws(() => suspicionTimeoutMs(0, 10, 2, 0), InvalidRuleOptionError)
  })
})
