import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { claimWinner, nextClaimClock, settleClaim } from '../../../crdt/rules/claims.js'
import { checkHistories, type Draws } from '../../helpers/property.js'
import { replica, addClaim, claimsOf, mergeInto, type Doc } from './docs.js'

/**
 * The settle rule as the nodes run it, over real Automerge replicas, with the network's freedom:
 * changes and heads announcements travel separately, are delayed, and arrive in any order (an
 * older announcement can overwrite a newer one, as gossip allows). A claim is made in two steps
 * like AssignmentService.claim: it starts, waits until the claimer holds every change its peers
 * announced (the catch-up wait; other things happen meanwhile), then writes. The claim's Lamport
 * clock is taken when it writes. Each node confirms its own winning claims with settleClaim, taking
 * a peer's ack to be the first announced heads that include the claim (node/coord/settler.ts).
 *
 * Acks may also travel through a relay, which keeps only the latest heads per (claimant, acking
 * node) until it hands them on, as routed acks do over a bounded overlay.
 *
 * Property: without a partition, at most one claim of an attempt is ever confirmed, and it is the
 * winner every replica ends up with. The same model with the clock taken when the claim starts
 * (the bug of issue 17) must find a double confirmation, or this test could not catch it.
 */

const TASK = 'task-1'

interface OwnClaim { id: string, hash: string, ackHeads: Map<number, A.Heads>, confirmed: boolean }
interface Starting { id: string, clockAtStart: number }
interface NodeState {
  doc: Doc
  own: OwnClaim[]
  starting: Starting[]
  /** The heads each peer last announced, as delivered here. */
  announced: Map<number, A.Heads>
  /**
   * Acks this node relays, gathered like ClaimAcks' outboxes: per (claimant, acking node) only the
   * latest heads are kept, so a newer ack replaces an older one still waiting here.
   */
  relaying: Map<string, { to: number, from: number, heads: A.Heads }>
}
/** Heads of `from` on their way to `to`; with `relayTo`, `to` is a relay that passes them on (routed acks). */
interface InFlight { to: number, from: number, heads: A.Heads, relayTo?: number }

function actorIds (rng: Draws, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${(i + 1).toString(16).padStart(2, '0')}${rng.hex(30)}`)
}

/** Whether announced heads include a change, judged like ClaimSettler.includes (only with all of them held). */
function includes (doc: Doc, heads: A.Heads, hash: string): boolean {
  if (heads.includes(hash)) return true
  if (A.getMissingDeps(doc, heads).length > 0) return false
  return !A.getChangesMetaSince(doc, heads).some(m => m.hash === hash)
}

function holdsAll (doc: Doc, heads: A.Heads): boolean {
  return A.getMissingDeps(doc, heads).length === 0
}

/** Runs one random history; returns the ids ever confirmed and the final winner. */
function run (rng: Draws, clockAtStart: boolean): { confirmed: string[], winner: string | null } {
  const n = 2 + rng.int(2)
  const nodes: NodeState[] = actorIds(rng, n).map(a => ({ doc: replica(a), own: [], starting: [], announced: new Map(), relaying: new Map() }))
  const flight: InFlight[] = []
  let made = 0
  const others = (r: number): number[] => nodes.map((_, i) => i).filter(i => i !== r)

  const settle = (r: number): void => {
    const node = nodes[r]!
    const winner = claimWinner(claimsOf(node.doc, TASK), 1)
    for (const c of node.own) {
      if (c.confirmed || winner?.id !== c.id) continue
      for (const p of others(r)) {
        const h = node.announced.get(p)
        if (!c.ackHeads.has(p) && h !== undefined && includes(node.doc, h, c.hash)) c.ackHeads.set(p, h)
      }
      const missing = [...c.ackHeads.values()].some(h => !holdsAll(node.doc, h))
      const verdict = settleClaim({ isWinner: true, claimChangeAckedBy: new Set([...c.ackHeads.keys()].map(String)), livePeers: new Set(others(r).map(String)), missingDeps: missing })
      if (verdict === 'confirmed') c.confirmed = true
    }
  }

  for (let step = 0; step < 80; step++) {
    const r = rng.int(n)
    const node = nodes[r]!
    const x = rng.float()
    if (x < 0.15 && made < 8) {
      node.starting.push({ id: `${rng.hex(6)}-${made++}`, clockAtStart: nextClaimClock(claimsOf(node.doc, TASK)) })
    } else if (x < 0.35 && node.starting.length > 0) {
      // The catch-up wait: write only when holding everything the peers announced.
      if ([...node.announced.values()].every(h => holdsAll(node.doc, h))) {
        const s = node.starting.splice(rng.int(node.starting.length), 1)[0]!
        const clock = clockAtStart ? s.clockAtStart : nextClaimClock(claimsOf(node.doc, TASK))
        node.doc = addClaim(node.doc, { id: s.id, taskId: TASK, nodeId: `node-${r}`, attempt: 1, clock })
        node.own.push({ id: s.id, hash: A.getHeads(node.doc)[0]!, ackHeads: new Map(), confirmed: false })
      }
    } else if (x < 0.65) {
      const s = rng.pick(others(r))
      node.doc = mergeInto(node.doc, nodes[s]!.doc, rng)
    } else if (x < 0.8) {
      // Announce our heads to some peers (delivered later, maybe out of order), directly or
      // through a third node that relays them (node/net/ack-routes.ts).
      for (const p of others(r)) {
        if (!rng.chance(0.7)) continue
        const relays = others(r).filter(q => q !== p)
        if (relays.length > 0 && rng.chance(0.5)) flight.push({ to: rng.pick(relays), from: r, heads: A.getHeads(node.doc), relayTo: p })
        else flight.push({ to: p, from: r, heads: A.getHeads(node.doc) })
      }
    } else if (x < 0.85) {
      // A relay hands on what it gathered.
      for (const f of node.relaying.values()) flight.push(f)
      node.relaying.clear()
    } else if (flight.length > 0) {
      const f = flight.splice(rng.int(flight.length), 1)[0]!
      if (f.relayTo === undefined) nodes[f.to]!.announced.set(f.from, f.heads)
      else nodes[f.to]!.relaying.set(`${f.relayTo}:${f.from}`, { to: f.relayTo, from: f.from, heads: f.heads })
    }
    for (let i = 0; i < n; i++) settle(i)
  }
  // Everything arrives in the end; the replicas converge on one winner.
  for (const a of nodes) for (const b of nodes) if (a !== b) a.doc = mergeInto(a.doc, b.doc, rng)
  const winners = new Set(nodes.map(s => claimWinner(claimsOf(s.doc, TASK), 1)?.id ?? null))
  assert.equal(winners.size, 1, 'replicas disagree on the winner')
  return { confirmed: nodes.flatMap(s => s.own.filter(c => c.confirmed).map(c => c.id)), winner: [...winners][0] ?? null }
}

describe('rules/settle property (real Automerge, delayed, reordered and relayed announcements)', () => {
  it('without a partition at most one claim is ever confirmed, and it is the final winner', function () {
    this.timeout(60_000)
    let withConfirm = 0
    checkHistories(80, (rng) => {
      const { confirmed, winner } = run(rng, false)
      assert.ok(confirmed.length <= 1, `confirmed ${confirmed.join(', ')}`)
      if (confirmed.length === 1) {
        withConfirm++
        assert.equal(confirmed[0], winner, 'a confirmed claim lost in the end')
      }
    })
    assert.ok(withConfirm > 10, `only ${withConfirm} of 80 histories confirmed anything: the model is too weak to test the rule`)
  })

  it('finds the double confirmation when the clock is taken before the catch-up wait (issue 17)', function () {
    this.timeout(120_000)
    // About one history in 25 shows it: fast-check must find a history where two claims were
    // confirmed within 400 runs (no shrinking needed: finding one is the point).
    assert.throws(() => {
      checkHistories(400, (rng) => { assert.ok(run(rng, true).confirmed.length <= 1, 'double confirmation') }, { endOnFailure: true })
    }, /double confirmation/, 'the model never produced the stale-clock double confirmation in 400 histories')
  })
})
