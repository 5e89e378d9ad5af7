import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import {
  claimWinner, nextClaimClock, settleClaim, fenceCheck, type ClaimState, type ClaimView
} from '../../../crdt/rules/claims.js'
import { checkHistories, type Draws } from '../../helpers/property.js'
import { replica, addClaim, claimsOf, mergeInto, sortedHeads, type Doc } from './docs.js'

const TASK = 'task-1'

/** Reference winner, written without claims.ts: sort the eligible claims by (clock, id). */
function referenceWinner (claims: readonly ClaimView[], attempt: number): string | null {
  const eligible = claims
    .filter((c) => c.attempt === attempt && (c.state === 'active' || c.state === 'completed'))
    .sort((a, b) => a.clock - b.clock || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return eligible[0]?.id ?? null
}

function actors (rng: Draws, n: number): string[] {
  const out = new Set<string>()
  while (out.size < n) out.add(`${(out.size + 1).toString(16).padStart(2, '0')}${rng.hex(30)}`)
  return [...out]
}

function randomState (rng: Draws): ClaimState {
  const x = rng.float()
  if (x < 0.7) return 'active'
  if (x < 0.8) return 'completed'
  return rng.pick(['released', 'expired', 'failed'] as const)
}

/** Every replica merges every other (in random orders), after which each holds the union. */
function mergeAll (docs: Doc[], rng: Draws): void {
  for (const r of rng.shuffle(docs.map((_, i) => i))) {
    for (const s of rng.shuffle(docs.map((_, i) => i).filter((i) => i !== r))) {
      docs[r] = mergeInto(docs[r]!, docs[s]!, rng)
    }
  }
}

describe('rules/claims property (real Automerge)', () => {
  it('every replica names the same min-(clock, id) winner after merging concurrent claims', function () {
    this.timeout(90_000)
    checkHistories(200, (rng) => {
      const nReplicas = 1 + rng.int(5)
      const nClaims = 1 + rng.int(20)
      const attempt = 1 + rng.int(3)
      const docs = actors(rng, nReplicas).map(replica)
      const made: ClaimView[] = []

      for (let k = 0; k < nClaims; k++) {
        const r = rng.int(nReplicas)
        // Some claimers have heard of others' claims first, so clocks differ; others have not, so clocks tie.
        if (nReplicas > 1 && rng.chance(0.4)) {
          const s = rng.pick(docs.map((_, i) => i).filter((i) => i !== r))
          docs[r] = mergeInto(docs[r]!, docs[s]!, rng)
        }
        // Random ids (they break clock ties), unique by their suffix.
        const id = `${rng.pick(['c', 'C', 'x', '_'])}-${rng.hex(4)}-${k}`
        const clock = nextClaimClock(claimsOf(docs[r]!, TASK))
        const claim: ClaimView = {
          id, taskId: TASK, agentId: `agent-${k}`, nodeId: `node-${r}`,
          attempt: rng.chance(0.85) ? attempt : rng.int(attempt), clock, state: randomState(rng), confirmedAt: null
        }
        docs[r] = addClaim(docs[r]!, claim)
        made.push(claim)
      }

      mergeAll(docs, rng)

      const heads = sortedHeads(docs[0]!)
      const expected = referenceWinner(made, attempt)
      for (const doc of docs) {
        assert.equal(sortedHeads(doc), heads, 'replicas did not converge')
        const seen = claimsOf(doc, TASK)
        assert.equal(seen.length, made.length)
        assert.equal(claimWinner(seen, attempt)?.id ?? null, expected)
        assert.equal(claimWinner(rng.shuffle(seen), attempt)?.id ?? null, expected)
      }

      // A claim made after seeing the winner has a larger clock, so it loses even with the smallest id.
      const r = rng.int(nReplicas)
      const late: ClaimView = {
        id: '!late', taskId: TASK, agentId: 'late', nodeId: `node-${r}`, attempt, clock: nextClaimClock(claimsOf(docs[r]!, TASK)), state: 'active', confirmedAt: null
      }
      const before = claimWinner(claimsOf(docs[r]!, TASK), attempt)
      if (before !== null) assert.ok(late.clock > before.clock)
      docs[r] = addClaim(docs[r]!, late)
      for (let s = 0; s < nReplicas; s++) if (s !== r) docs[s] = mergeInto(docs[s]!, docs[r]!, rng)
      for (const doc of docs) {
        assert.equal(claimWinner(claimsOf(doc, TASK), attempt)?.id, before?.id ?? late.id)
      }
    })
  })

  /**
   * Nodes claim and gossip changes one way at random; each node runs settleClaim on its own
   * winning claim after every step, with every announced head current (no partition). A confirmed
   * claim must be the final winner on every replica, and so at most one claim is ever confirmed.
   * Under a partition (peers limited to one side) both sides may confirm; after healing exactly one
   * wins and the other is fenced.
   */
  function simulate (rng: Draws, partitioned: boolean): { confirmed: Set<string>, winner: ClaimView | null, docs: Doc[] } {
    const n = 2 + rng.int(4)
    const docs = actors(rng, n).map(replica)
    const nodes = docs.map((_, i) => `node-${i}`)
    const side = nodes.map((_, i) => (partitioned ? i % 2 : 0))
    const own: Array<Array<{ id: string, hash: string }>> = nodes.map(() => [])
    const confirmed = new Set<string>()
    let claims = 0

    const settleAll = (): void => {
      for (let r = 0; r < n; r++) {
        const winner = claimWinner(claimsOf(docs[r]!, TASK), 1)
        const mine = own[r]!.find((c) => c.id === winner?.id)
        if (mine === undefined || confirmed.has(mine.id)) continue
        const live = nodes.map((_, i) => i).filter((i) => i !== r && side[i] === side[r])
        const acked = new Set(live.filter((i) => A.hasHeads(docs[i]!, [mine.hash])).map((i) => nodes[i]!))
        const missingDeps = live.some((i) => !A.hasHeads(docs[r]!, A.getHeads(docs[i]!)))
        const livePeers = new Set(live.map((i) => nodes[i]!))
        if (settleClaim({ isWinner: true, claimChangeAckedBy: acked, livePeers, missingDeps }) === 'confirmed') confirmed.add(mine.id)
      }
    }

    for (let step = 0; step < 30; step++) {
      if (claims < 10 && rng.chance(0.3)) {
        const r = rng.int(n)
        const id = `${rng.hex(4)}-${claims++}`
        docs[r] = addClaim(docs[r]!, { id, taskId: TASK, nodeId: nodes[r], attempt: 1, clock: nextClaimClock(claimsOf(docs[r]!, TASK)) })
        own[r]!.push({ id, hash: A.getHeads(docs[r]!)[0]! })
      } else {
        const r = rng.int(n)
        const peersOnSide = nodes.map((_, i) => i).filter((i) => i !== r && side[i] === side[r])
        if (peersOnSide.length > 0) docs[r] = mergeInto(docs[r]!, docs[rng.pick(peersOnSide)]!, rng)
      }
      settleAll()
    }
    // Heal (or just finish gossip) and let the remaining holders settle.
    mergeAll(docs, rng)
    for (let r = 0; r < n; r++) side[r] = 0
    settleAll()
    const winner = claimWinner(claimsOf(docs[0]!, TASK), 1)
    for (const doc of docs) assert.equal(claimWinner(claimsOf(doc, TASK), 1)?.id, winner?.id)
    return { confirmed, winner, docs }
  }

  /**
   * The same, with acknowledgements as node/net/membership.ts sends them: a node that receives a
   * claim sends its heads (then) to the claiming node only, as a message that arrives at a random
   * later step, in order per link. The claimant knows a peer's heads only from those messages and
   * settles as node/coord/settler.ts does: a peer has acknowledged a claim once heads it sent
   * include it (judged only when the claimant holds those heads), and the claimant must hold every
   * change of the heads each peer acknowledged with. No partition: at most one claim is ever confirmed.
   */
  function simulateDirectAcks (rng: Draws): { confirmed: Set<string>, winner: ClaimView | null } {
    const n = 2 + rng.int(5)
    const docs = actors(rng, n).map(replica)
    const nodes = docs.map((_, i) => `node-${i}`)
    const own: Array<Array<{ id: string, hash: string, ackHeads: Map<number, A.Heads> }>> = nodes.map(() => [])
    /** Acks in flight to each node, in order: from whom, their heads then, and what those heads hold. */
    const inbox: Array<Array<{ from: number, heads: A.Heads, holds: Set<string> }>> = nodes.map(() => [])
    /** What each node last heard from each peer. */
    const known: Array<Map<number, { heads: A.Heads, holds: Set<string> }>> = nodes.map(() => new Map())
    const confirmed = new Set<string>()
    let claims = 0

    const claimantsOfClaims = (doc: Doc): Map<string, number> => new Map(claimsOf(doc, TASK).map((c) => [c.id, Number(c.nodeId.slice(5))]))
    /** Node r merges node s; every claimant whose claim r just received gets r's heads. */
    const merge = (r: number, s: number): void => {
      const before = claimantsOfClaims(docs[r]!)
      docs[r] = mergeInto(docs[r]!, docs[s]!, rng)
      const claimants = new Set<number>()
      for (const [id, node] of claimantsOfClaims(docs[r]!)) if (!before.has(id) && node !== r) claimants.add(node)
      const heads = A.getHeads(docs[r]!)
      // What "these heads include the claim" means: the sender held the claim's change.
      for (const c of claimants) inbox[c]!.push({ from: r, heads, holds: new Set(own[c]!.filter((x) => A.hasHeads(docs[r]!, [x.hash])).map((x) => x.hash)) })
    }
    const deliver = (to: number): void => {
      const m = inbox[to]!.shift()
      if (m !== undefined) known[to]!.set(m.from, { heads: m.heads, holds: m.holds })
    }
    const settleAll = (): void => {
      for (let r = 0; r < n; r++) {
        const winner = claimWinner(claimsOf(docs[r]!, TASK), 1)
        const mine = own[r]!.find((c) => c.id === winner?.id)
        if (mine === undefined || confirmed.has(mine.id)) continue
        const live = nodes.map((_, i) => i).filter((i) => i !== r)
        for (const i of live) {
          const k = known[r]!.get(i)
          if (k === undefined || mine.ackHeads.has(i) || !A.hasHeads(docs[r]!, k.heads)) continue
          if (k.holds.has(mine.hash)) mine.ackHeads.set(i, k.heads)
        }
        const acked = new Set(live.filter((i) => mine.ackHeads.has(i)).map((i) => nodes[i]!))
        const missingDeps = live.some((i) => !A.hasHeads(docs[r]!, mine.ackHeads.get(i) ?? []))
        if (settleClaim({ isWinner: true, claimChangeAckedBy: acked, livePeers: new Set(live.map((i) => nodes[i]!)), missingDeps }) === 'confirmed') confirmed.add(mine.id)
      }
    }

    for (let step = 0; step < 40; step++) {
      const x = rng.float()
      if (claims < 10 && x < 0.25) {
        const r = rng.int(n)
        const id = `${rng.hex(4)}-${claims++}`
        docs[r] = addClaim(docs[r]!, { id, taskId: TASK, nodeId: nodes[r], attempt: 1, clock: nextClaimClock(claimsOf(docs[r]!, TASK)) })
        own[r]!.push({ id, hash: A.getHeads(docs[r]!)[0]!, ackHeads: new Map() })
      } else if (x < 0.6) {
        const r = rng.int(n)
        merge(r, rng.pick(nodes.map((_, i) => i).filter((i) => i !== r)))
      } else {
        deliver(rng.int(n))
      }
      settleAll()
    }
    // Finish: everyone merges everyone, every ack arrives, and the holders settle.
    for (const r of rng.shuffle(docs.map((_, i) => i))) for (let s = 0; s < n; s++) if (s !== r) merge(r, s)
    for (let r = 0; r < n; r++) while (inbox[r]!.length > 0) deliver(r)
    settleAll()
    return { confirmed, winner: claimWinner(claimsOf(docs[0]!, TASK), 1) }
  }

  it('with acks sent to the claiming node only (delayed, in order per link), still at most one confirmed, the final winner', function () {
    this.timeout(60_000)
    let confirmedSome = 0
    checkHistories(30, (rng) => {
      const { confirmed, winner } = simulateDirectAcks(rng)
      assert.ok(confirmed.size <= 1, `two claims confirmed: ${[...confirmed].join(', ')}`)
      if (confirmed.size === 1) {
        confirmedSome++
        assert.deepEqual([...confirmed], [winner?.id], 'the confirmed claim is not the final winner')
      }
    })
    assert.ok(confirmedSome > 0, 'the model never confirmed a claim: it tests nothing')
  })

  it('without partitions a confirmed claim is the final winner everywhere', function () {
    this.timeout(90_000)
    checkHistories(40, (rng) => {
      const { confirmed, winner } = simulate(rng, false)
      assert.deepEqual([...confirmed], winner === null ? [] : [winner.id])
    })
  })

  it('under a partition both sides may confirm; after healing one wins and the rest are fenced', function () {
    this.timeout(90_000)
    let doubleConfirmed = 0
    checkHistories(40, (rng) => {
      const { confirmed, winner, docs } = simulate(rng, true)
      if (confirmed.size > 1) doubleConfirmed++
      if (winner !== null) assert.ok(confirmed.has(winner.id))
      const all = claimsOf(docs[0]!, TASK)
      for (const id of confirmed) {
        const reason = fenceCheck(all.find((c) => c.id === id), winner, 1)
        assert.equal(reason, id === winner?.id ? null : `assignment lost to ${winner?.id ?? ''}`)
      }
    })
    assert.ok(doubleConfirmed > 0, 'the partition model never produced double work')
  })
})
