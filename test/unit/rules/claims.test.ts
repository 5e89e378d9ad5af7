import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import {
  claimWinner, nextClaimClock, claimOutcome, settleClaim, fenceCheck, toClaimView, compareClaims,
  type ClaimView
} from '../../../crdt/rules/claims.js'
import { MixedTaskClaimsError } from '../../../crdt/rules/errors.js'
import { str } from '../../../crdt/schema.js'
import { replica, addClaim, claimsOf } from './docs.js'

function claim (id: string, clock: number, over: Partial<ClaimView> = {}): ClaimView {
  return { id, taskId: 't1', agentId: 'ag', nodeId: 'n', attempt: 1, clock, state: 'active', confirmedAt: null, ...over }
}

const peers = (...ids: string[]): ReadonlySet<string> => new Set(ids)

describe('rules/claims', () => {
  describe('claimWinner', () => {
    it('is null without claims', () => {
      assert.equal(claimWinner([], 1), null)
    })

    it('picks the smallest clock', () => {
      const w = claimWinner([claim('a', 3), claim('b', 1), claim('c', 2)], 1)
      assert.equal(w?.id, 'b')
    })

    it('breaks clock ties by id, by code units rather than locale', () => {
      assert.equal(claimWinner([claim('b', 1), claim('a', 1)], 1)?.id, 'a')
      // 'B' (0x42) sorts before 'a' (0x61); localeCompare would put 'a' first.
      assert.equal(claimWinner([claim('a', 1), claim('B', 1)], 1)?.id, 'B')
      // 'é' (0xe9) sorts after 'f'; a locale sort would put it before.
      assert.equal(claimWinner([claim('é', 1), claim('f', 1)], 1)?.id, 'f')
    })

    it('only counts holding claims of the current attempt', () => {
      const claims = [
        claim('old', 1, { attempt: 0 }),
        claim('rel', 1, { state: 'released' }),
        claim('exp', 1, { state: 'expired' }),
        claim('fail', 1, { state: 'failed' }),
        claim('done', 2, { state: 'completed' }),
        claim('act', 3)
      ]
      assert.equal(claimWinner(claims, 1)?.id, 'done')
      assert.equal(claimWinner(claims, 0)?.id, 'old')
      assert.equal(claimWinner(claims, 2), null)
    })

    it('does not depend on input order', () => {
      const claims = [claim('x', 2), claim('y', 1), claim('z', 1), claim('w', 5, { attempt: 0 })]
      const ids = new Set([claims, [...claims].reverse(), [claims[2]!, claims[0]!, claims[3]!, claims[1]!]]
        .map((cs) => claimWinner(cs, 1)?.id))
      assert.deepEqual([...ids], ['y'])
    })

    it('sorts a corrupt clock last', () => {
      assert.equal(claimWinner([claim('a', Number.NaN), claim('b', 7)], 1)?.id, 'b')
      assert.equal(claimWinner([claim('b', 7), claim('a', Number.NaN)], 1)?.id, 'b')
      assert.ok(compareClaims(claim('a', Number.NaN), claim('b', 7)) > 0)
    })

    it('refuses claims of several tasks', () => {
      assert.throws(() => claimWinner([claim('a', 1), claim('b', 1, { taskId: 't2' })], 1), MixedTaskClaimsError)
    })
  })

  describe('nextClaimClock', () => {
    it('starts at 1', () => {
      assert.equal(nextClaimClock([]), 1)
    })

    it('is 1 + the highest clock seen, of any attempt or state', () => {
      assert.equal(nextClaimClock([claim('a', 2), claim('b', 9, { attempt: 0, state: 'expired' }), claim('c', 4)]), 10)
    })

    it('ignores corrupt clocks', () => {
      assert.equal(nextClaimClock([claim('a', Number.NaN), claim('b', 3)]), 4)
    })
  })

  describe('claimOutcome', () => {
    const w = claim('w', 1)
    it('names the winner', () => {
      assert.equal(claimOutcome(w, w, 1), 'winner')
    })
    it('names a losing holder', () => {
      assert.equal(claimOutcome(claim('l', 2), w, 1), 'lost')
      assert.equal(claimOutcome(claim('l', 2, { state: 'completed' }), w, 1), 'lost')
    })
    it('names ended and old claims stale', () => {
      assert.equal(claimOutcome(claim('o', 1, { attempt: 0 }), w, 1), 'stale')
      assert.equal(claimOutcome(claim('r', 1, { state: 'released' }), w, 1), 'stale')
      assert.equal(claimOutcome(claim('e', 1, { state: 'expired' }), w, 1), 'stale')
      assert.equal(claimOutcome(claim('f', 1, { state: 'failed' }), w, 1), 'stale')
      assert.equal(claimOutcome(claim('n', 1, { attempt: 2 }), w, 1), 'stale')
    })
  })

  describe('settleClaim', () => {
    it('is lost when not the winner', () => {
      assert.equal(settleClaim({ isWinner: false, claimChangeAckedBy: peers('p'), livePeers: peers('p'), missingDeps: false }), 'lost')
    })
    it('waits for every live peer', () => {
      assert.equal(settleClaim({ isWinner: true, claimChangeAckedBy: peers('p'), livePeers: peers('p', 'q'), missingDeps: false }), 'pending')
      assert.equal(settleClaim({ isWinner: true, claimChangeAckedBy: peers('p', 'q'), livePeers: peers('p', 'q'), missingDeps: false }), 'confirmed')
    })
    it('waits for missing changes', () => {
      assert.equal(settleClaim({ isWinner: true, claimChangeAckedBy: peers('p'), livePeers: peers('p'), missingDeps: true }), 'pending')
    })
    it('ignores acks from nodes that are not live', () => {
      assert.equal(settleClaim({ isWinner: true, claimChangeAckedBy: peers('p', 'gone'), livePeers: peers('p'), missingDeps: false }), 'confirmed')
    })
    it('confirms at once on a lone node', () => {
      assert.equal(settleClaim({ isWinner: true, claimChangeAckedBy: peers(), livePeers: peers(), missingDeps: false }), 'confirmed')
    })
  })

  describe('fenceCheck', () => {
    const w = claim('w', 1)
    it('lets the winner write, also once completed', () => {
      assert.equal(fenceCheck(w, w, 1), null)
      const done = claim('w', 1, { state: 'completed' })
      assert.equal(fenceCheck(done, done, 1), null)
    })
    it('gives a reason otherwise', () => {
      assert.equal(fenceCheck(undefined, w, 1), 'unknown assignment')
      assert.equal(fenceCheck(null, w, 1), 'unknown assignment')
      assert.equal(fenceCheck(claim('l', 2), w, 1), 'assignment lost to w')
      assert.equal(fenceCheck(claim('e', 1, { state: 'expired' }), w, 1), 'assignment expired')
      assert.equal(fenceCheck(claim('o', 1, { attempt: 0 }), w, 1), 'assignment from an older attempt')
      assert.equal(fenceCheck(claim('r', 1, { state: 'released' }), w, 1), 'assignment released')
      assert.equal(fenceCheck(claim('f', 1, { state: 'failed' }), w, 1), 'assignment failed')
    })
  })

  describe('toClaimView', () => {
    it('reads a stored assignment', () => {
      let doc = replica('aa'.repeat(16))
      doc = addClaim(doc, { id: 'c1', taskId: 't1', agentId: 'A', nodeId: 'n1', attempt: 2, clock: 5, state: 'completed' })
      assert.deepEqual(claimsOf(doc, 't1'), [
        { id: 'c1', taskId: 't1', agentId: 'A', nodeId: 'n1', attempt: 2, clock: 5, state: 'completed', confirmedAt: null }
      ])
    })
    it('skips a state it does not know', () => {
      const a = {
        id: str('c'), taskId: str('t'), agentId: str('a'), nodeId: str('n'), attempt: 1, clock: 1, claimedAt: 0, confirmedAt: null,
        state: str('paused'), progress: 0, message: null, summary: null, endedAt: null, reason: null
      }
      assert.equal(toClaimView(a), null)
      assert.equal(toClaimView({ ...a, state: str('active'), confirmedAt: 42 })?.confirmedAt, 42)
    })
  })

  describe('under a partition', () => {
    it('lets both sides confirm, then one winner after healing fences the other', () => {
      let left = replica('11'.repeat(16))
      let right = replica('22'.repeat(16))
      // Each side only sees itself, so each confirms its own claim: double work.
      left = addClaim(left, { id: 'left-claim', taskId: 't1', nodeId: 'L', attempt: 1, clock: nextClaimClock(claimsOf(left, 't1')) })
      right = addClaim(right, { id: 'right-claim', taskId: 't1', nodeId: 'R', attempt: 1, clock: nextClaimClock(claimsOf(right, 't1')) })
      for (const [doc, id] of [[left, 'left-claim'], [right, 'right-claim']] as const) {
        const w = claimWinner(claimsOf(doc, 't1'), 1)
        assert.equal(settleClaim({ isWinner: w?.id === id, claimChangeAckedBy: peers(), livePeers: peers(), missingDeps: false }), 'confirmed')
      }
      // Heal: both sides merge and agree on min (clock, id).
      const healedL = A.merge(left, right)
      const healedR = A.merge(right, left)
      const wl = claimWinner(claimsOf(healedL, 't1'), 1)
      const wr = claimWinner(claimsOf(healedR, 't1'), 1)
      assert.equal(wl?.id, 'left-claim')
      assert.equal(wr?.id, 'left-claim')
      const loser = claimsOf(healedR, 't1').find((c) => c.id === 'right-claim')
      assert.equal(fenceCheck(loser, wr, 1), 'assignment lost to left-claim')
      assert.equal(fenceCheck(wl, wl, 1), null)
    })
  })
})
