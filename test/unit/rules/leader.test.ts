import assert from 'node:assert/strict'
import { termOf, termBounds, leaderFor, isLiveMember, takesOverMerge, DEFAULT_TERM_MS, DEFAULT_LIVENESS_MS } from '../../../crdt/rules/leader.js'
import { InvalidRuleOptionError } from '../../../crdt/rules/errors.js'

describe('rules/leader', () => {
  it('has the documented defaults', () => {
    assert.equal(DEFAULT_TERM_MS, 60_000)
    assert.equal(DEFAULT_LIVENESS_MS, 10_000)
  })

  it('cuts time into terms', () => {
    assert.equal(termOf(0), 0)
    assert.equal(termOf(59_999), 0)
    assert.equal(termOf(60_000), 1)
    assert.equal(termOf(250, 100), 2)
    assert.deepEqual(termBounds(2, 100), { start: 200, end: 300 })
    assert.throws(() => termOf(1, 0), InvalidRuleOptionError)
  })

  it('picks no leader from nobody', () => {
    assert.equal(leaderFor(7, []), null)
  })

  it('rotates over the sorted live members', () => {
    const members = ['n3', 'n1', 'n2']
    assert.deepEqual([0, 1, 2, 3, 4].map((t) => leaderFor(t, members)), ['n1', 'n2', 'n3', 'n1', 'n2'])
  })

  it('does not depend on member order or duplicates', () => {
    const a = leaderFor(5, ['b', 'a', 'c'])
    assert.equal(leaderFor(5, ['c', 'b', 'a']), a)
    assert.equal(leaderFor(5, ['c', 'b', 'a', 'a', 'c']), a)
  })

  it('sorts by code units, not locale', () => {
    assert.equal(leaderFor(0, ['a', 'B']), 'B')
  })

  it('handles a negative term', () => {
    assert.equal(leaderFor(-1, ['a', 'b', 'c']), 'c')
  })

  it('replaces a leader as soon as it leaves the live set', () => {
    const term = 4
    const all = ['a', 'b', 'c', 'd']
    const leader = leaderFor(term, all)
    assert.equal(leader, 'a')
    const next = leaderFor(term, all.filter((m) => m !== leader))
    assert.notEqual(next, null)
    assert.notEqual(next, leader)
  })

  it('judges liveness by the timeout', () => {
    assert.equal(isLiveMember(0, 9_999), true)
    assert.equal(isLiveMember(0, 10_000), false)
    assert.equal(isLiveMember(null, 0), false)
    assert.equal(isLiveMember(0, 50, 100), true)
    assert.throws(() => isLiveMember(0, 0, -1), InvalidRuleOptionError)
  })

  it('takes over a merge left by a former leader that is still live once a term has passed, at once when it is dead', () => {
    const live = (n: string): boolean => n !== 'dead'
    const term = 30_000
    assert.equal(takesOverMerge({ leader: 'me', updatedAt: 0 }, 'me', live, 1, term), true, 'its own')
    assert.equal(takesOverMerge({ leader: null, updatedAt: 0 }, 'me', live, 1, term), true, 'nobody\'s')
    assert.equal(takesOverMerge({ leader: 'dead', updatedAt: 0 }, 'me', live, 1, term), true, 'a dead leader\'s')
    assert.equal(takesOverMerge({ leader: 'old', updatedAt: 0 }, 'me', live, term - 1, term), false, 'a live former leader may still be finishing it')
    assert.equal(takesOverMerge({ leader: 'old', updatedAt: 0 }, 'me', live, term, term), true, 'a term later it is taken over')
  })
})
