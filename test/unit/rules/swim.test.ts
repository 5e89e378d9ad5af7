import assert from 'node:assert/strict'
import {
  applyStatement, detectionBoundMs, expireSuspicion, initialIncarnation, isLiveStatus, nextSweep, pickHelpers, pickRandom, probeTargets, refute,
  supersedes, swimTimingFor, type MemberRecord, type MemberState
} from '../../../crdt/rules/swim.js'
import { InvalidRuleOptionError } from '../../../crdt/rules/errors.js'
import { mulberry32 } from '../../../plan/prng.js'

const S = (status: MemberState['status'], incarnation: number): MemberState => ({ status, incarnation })

describe('rules/swim: the member state machine', () => {
  it('a suspect that refutes with a higher incarnation is alive again, everywhere', () => {
    let rec = applyStatement(undefined, S('alive', 5), 0) as MemberRecord
    rec = applyStatement(rec, S('suspect', 5), 100) as MemberRecord
    assert.equal(rec.status, 'suspect')
    assert.ok(isLiveStatus(rec.status), 'a suspect still counts as live')
    // The suspect hears it and refutes above the suspicion's incarnation.
    const inc = refute(5, S('suspect', 5))
    assert.equal(inc, 6)
    const back = applyStatement(rec, S('alive', inc as number), 150) as MemberRecord
    assert.deepEqual(back, { status: 'alive', incarnation: 6, since: 150 })
    // The stale suspicion arriving late (another path) changes nothing, and neither does a repeat.
    assert.equal(applyStatement(back, S('suspect', 5), 160), null)
    assert.equal(applyStatement(back, S('alive', 6), 160), null)
    // Its timeout never fires on an alive record.
    assert.equal(expireSuspicion(back, 1_000_000, 1000), null)
  })

  it('a suspect that does not refute is dead once its suspicion timeout ran out, not before', () => {
    const rec = applyStatement(applyStatement(undefined, S('alive', 1), 0) as MemberRecord, S('suspect', 1), 1000) as MemberRecord
    assert.equal(expireSuspicion(rec, 1999, 1000), null)
    const dead = expireSuspicion(rec, 2000, 1000)
    assert.deepEqual(dead, S('dead', 1))
    const after = applyStatement(rec, dead as MemberState, 2000) as MemberRecord
    assert.equal(after.status, 'dead')
    assert.ok(!isLiveStatus(after.status))
    // A late alive at the old incarnation does not resurrect it.
    assert.equal(applyStatement(after, S('alive', 1), 2100), null)
    assert.throws(() => expireSuspicion(rec, 0, 0), InvalidRuleOptionError)
  })

  it('a dead node rejoins: after a restart (fresh incarnation) or by refuting the dead record it is told about', () => {
    const dead: MemberRecord = { status: 'dead', incarnation: 1_000, since: 5 }
    // Restarted: its incarnation is its clock at start, above what it used before.
    const restarted = applyStatement(dead, S('alive', initialIncarnation(2_000)), 10) as MemberRecord
    assert.equal(restarted.status, 'alive')
    // Still running (it was only cut off): it hears "dead at 1000" about itself and goes above it.
    assert.equal(refute(1_000, S('dead', 1_000)), 1_001)
    assert.equal(applyStatement(dead, S('alive', 1_001), 10)?.status, 'alive')
    // A stale goodbye from before a restart is refuted as well; old news needs nothing.
    assert.equal(refute(7, S('left', 7)), 8)
    assert.equal(refute(7, S('dead', 6)), null)
    assert.equal(refute(7, S('alive', 7)), null)
    assert.equal(refute(7, S('alive', 9)), 10, 'an alive above ours (replayed) is overtaken too')
  })

  it('orders statements by incarnation, then alive < suspect < dead < left: the same result in any order', () => {
    assert.ok(supersedes(undefined, S('dead', 0)))
    assert.ok(supersedes(S('alive', 1), S('suspect', 1)))
    assert.ok(supersedes(S('suspect', 1), S('dead', 1)))
    assert.ok(supersedes(S('dead', 1), S('left', 1)))
    assert.ok(!supersedes(S('suspect', 1), S('alive', 1)))
    assert.ok(supersedes(S('left', 1), S('alive', 2)))
    assert.ok(!supersedes(S('alive', 2), S('dead', 1)))
    // Every permutation of a set of statements ends in the same record (a join).
    const statements = [S('alive', 1), S('suspect', 1), S('alive', 2), S('dead', 1), S('suspect', 2), S('alive', 3), S('left', 2)]
    const random = mulberry32(7)
    const results = new Set<string>()
    for (let trial = 0; trial < 200; trial++) {
      const order = [...statements].sort(() => random() - 0.5)
      let rec: MemberRecord | undefined
      for (const s of order) rec = applyStatement(rec, s, 0) ?? rec
      results.add(`${rec?.status}@${rec?.incarnation}`)
    }
    assert.deepEqual([...results], ['alive@3'])
  })

  it('derives the timing from the liveness window: dead within about the window, over half of it to refute', () => {
    for (const L of [2000, 6000, 10_000, 30_000]) {
      const t = swimTimingFor(L)
      assert.ok(t.suspicionMs >= L / 2, `suspicion ${t.suspicionMs} ms >= half of ${L}`)
      assert.ok(detectionBoundMs(t, 0) <= L, `bound ${detectionBoundMs(t, 0)} ms within ${L}`)
      assert.ok(t.probeTimeoutMs >= 200)
    }
    assert.throws(() => swimTimingFor(0), InvalidRuleOptionError)
  })

  it('chooses k probe targets per node: stable as neighbours come and go, and spread so each node is chosen by about k', () => {
    const ids = Array.from({ length: 40 }, (_, i) => `12D3KooWnode${i}`)
    const chosen = new Map<string, number>()
    for (const self of ids) {
      const nbrs = ids.filter(x => x !== self)
      const t = probeTargets(self, nbrs, 2)
      assert.equal(t.length, 2)
      assert.deepEqual(probeTargets(self, [...nbrs].reverse(), 2), t, 'the same whatever the order of the neighbours')
      // A neighbour that is not a target leaving changes nothing; a target leaving is replaced by the next.
      const other = nbrs.find(x => !t.includes(x)) as string
      assert.deepEqual(probeTargets(self, nbrs.filter(x => x !== other), 2), t)
      const rest = probeTargets(self, nbrs.filter(x => x !== t[0]), 2)
      assert.equal(rest[0], t[1])
      for (const x of t) chosen.set(x, (chosen.get(x) ?? 0) + 1)
    }
    // Not everyone picking the same few (as "the smallest ids" would): no node is chosen by more than a quarter.
    assert.ok(Math.max(...chosen.values()) <= 10, `most choices of one node: ${Math.max(...chosen.values())} of 80`)
    assert.ok(chosen.size >= 20, `${chosen.size} of 40 nodes chosen by someone`)
    assert.deepEqual(probeTargets('a', ['b'], 2), ['b'], 'fewer neighbours than k: all of them')
    assert.deepEqual(probeTargets('a', [], 2), [])
  })

  it('sweeps every non-target neighbour once per pass, in id order, whatever joins or leaves meanwhile', () => {
    const nbrs = ['d', 'b', 'e', 'a', 'c']
    const seen: string[] = []
    let last: string | null = null
    for (let i = 0; i < 8; i++) {
      last = nextSweep(nbrs, ['c'], last) as string
      seen.push(last)
    }
    assert.deepEqual(seen, ['a', 'b', 'd', 'e', 'a', 'b', 'd', 'e'], 'targets skipped, wrapping around')
    // The last one swept left: the pass goes on from where it was, not from the start.
    assert.equal(nextSweep(['a', 'c', 'e'], [], 'b'), 'c')
    assert.equal(nextSweep(['a', 'b'], ['a', 'b'], null), undefined, 'only targets: nothing to sweep')
    assert.equal(nextSweep([], [], 'x'), undefined)
  })

  it('asks neighbours that are linked to the probed member for indirect probes first, and still k of them', () => {
    const ours = ['a', 'b', 'c', 'd', 'e', 'f', 't']
    // t announced a, e and x (x is not our neighbour) as its own neighbours.
    for (let seed = 1; seed <= 20; seed++) {
      const h = pickHelpers(ours, ['a', 'e', 'x'], 3, mulberry32(seed), 't')
      assert.equal(h.length, 3, 'as many helpers as without links')
      assert.equal(new Set(h).size, 3)
      assert.deepEqual(h.slice(0, 2).sort(), ['a', 'e'], 'the linked ones first')
      assert.ok(!h.includes('t') && !h.includes('x'), 'never the target, never a non-neighbour')
    }
    assert.deepEqual(pickHelpers(ours, ['a', 'b', 'c', 'd'], 2, mulberry32(1), 't').filter(x => ['a', 'b', 'c', 'd'].includes(x)).length, 2, 'only linked ones when there are enough')
    assert.equal(pickHelpers(ours, [], 3, mulberry32(1), 't').length, 3, 'random ones when no links are known')
    assert.deepEqual(pickHelpers(['t', 'a'], ['a'], 3, mulberry32(1), 't'), ['a'], 'fewer when we have fewer neighbours')
  })
})
