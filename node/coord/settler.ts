import type { DocStore } from '../../crdt/doc-store.js'
import type { ProjectionCache } from '../../crdt/projection.js'
import { settleClaim } from '../../crdt/rules/claims.js'
import type { Logger } from '../logger.js'
import { Backoff } from '../../bootstrap/backoff.js'
import type { AssignmentService } from '../services/assignments.js'
import type { CoordinationCounters } from './settings.js'
import { OncePerTick } from '../util/tick-batch.js'

/** A confirmation write that failed (disk trouble, store closing) is retried this way, not every tick. */
const CONFIRM_RETRY_BACKOFF = { baseMs: 250, maxMs: 30_000 }

export interface ClaimSettlerInit {
  store: DocStore
  projection: ProjectionCache
  assignments: AssignmentService
  logger: Logger
  /** Other live nodes with the heads each last announced. */
  livePeers: () => Array<{ nodeId: string, heads: string[] }>
  counters?: CoordinationCounters
}

interface Tracked {
  /** Changes the peers must have acknowledged: the claim's own change (or, after a restart, our heads then). */
  hashes: string[]
  /**
   * Each peer's heads when it first acknowledged the claim. Only claims in those heads can compete
   * (anything the peer wrote later saw our claim and has a larger clock), so only those need to be here.
   */
  ackHeads: Map<string, string[]>
  /**
   * Per peer that has not acknowledged: its heads (joined) last found, with their whole history
   * held here, not to include the claim. The same heads never will, so they are not asked about
   * again: an evaluation (one per ack) costs one ancestry query per peer whose heads moved, not
   * one per live peer (an O(peers) query per ack made a claim cost O(peers^2) on the claimant).
   */
  notIn: Map<string, string>
  /** Acknowledging peers whose heads we hold entirely; a replica only grows, so that stays true. */
  held: Set<string>
  /** After a failed confirmation write: not retried before this time (backoff, not every tick). */
  retryAt?: number
  retries?: Backoff
}

/**
 * Confirms this node's claims by the settle rule (crdt/rules/claims.ts settleClaim): the claim is
 * still the winner, every live node has announced heads that include it, and this node holds
 * every change those nodes announced. Re-evaluated whenever the document or a peer's heads change.
 */
export class ClaimSettler {
  private readonly tracked = new Map<string, Tracked>()
  private readonly evaluation = new OncePerTick(() => { this.evaluate() })
  private readonly log: Logger

  constructor (private readonly init: ClaimSettlerInit) {
    this.log = init.logger
    init.assignments.on('claimed', ({ assignmentId, hash }) => {
      this.tracked.set(assignmentId, { hashes: hash === null ? init.store.heads() : [hash], ackHeads: new Map(), notIn: new Map(), held: new Set() })
      this.schedule()
    })
  }

  /** After a restart: local claims still pending are tracked against today's heads (conservative). */
  start (): void {
    for (const a of this.init.assignments.localPending()) {
      if (!this.tracked.has(a.id)) this.tracked.set(a.id, { hashes: this.init.store.heads(), ackHeads: new Map(), notIn: new Map(), held: new Set() })
    }
    this.schedule()
  }

  pendingCount (): number {
    return this.tracked.size
  }

  schedule (): void {
    if (this.tracked.size > 0) this.evaluation.schedule()
  }

  /**
   * Whether a peer's heads include the claim: 'unknown' while we lack some of their changes
   * (judging ancestry needs every change the peer has), which can change with the same heads.
   */
  private includes (peerHeads: string[], hashes: string[]): 'yes' | 'no' | 'unknown' {
    if (hashes.every(h => peerHeads.includes(h))) return 'yes'
    const store = this.init.store
    if (store.missingDeps(peerHeads).length > 0) return 'unknown'
    const notInPeer = new Set(store.changesSince(peerHeads))
    return hashes.every(h => !notInPeer.has(h)) ? 'yes' : 'no'
  }

  /** Whether we lack changes some live acknowledging peer had when it acknowledged. */
  private missingAcked (t: Tracked, live: ReadonlySet<string>): boolean {
    for (const [peer, heads] of t.ackHeads) {
      if (t.held.has(peer) || !live.has(peer)) continue
      if (this.init.store.missingDeps(heads).length > 0) return true
      t.held.add(peer)
    }
    return false
  }

  private evaluate (): void {
    const view = this.init.projection.get()
    const peers = this.init.livePeers()
    const live = new Set(peers.map(p => p.nodeId))
    for (const [id, t] of [...this.tracked]) {
      const a = view.assignments.get(id)
      if (a === undefined) continue
      if (t.retryAt !== undefined && Date.now() < t.retryAt) continue
      if (a.state !== 'pending') {
        this.tracked.delete(id)
        if (a.state === 'lost') this.init.counters?.claimLost?.()
        continue
      }
      for (const p of peers) {
        if (t.ackHeads.has(p.nodeId)) continue
        const key = p.heads.join()
        if (t.notIn.get(p.nodeId) === key) continue
        const included = this.includes(p.heads, t.hashes)
        if (included === 'yes') t.ackHeads.set(p.nodeId, p.heads)
        else if (included === 'no') t.notIn.set(p.nodeId, key)
      }
      const acked = new Set([...t.ackHeads.keys()].filter(n => live.has(n)))
      const missing = this.missingAcked(t, live)
      const verdict = settleClaim({ isWinner: true, claimChangeAckedBy: acked, livePeers: live, missingDeps: missing })
      if (verdict !== 'confirmed') continue
      this.tracked.delete(id)
      this.init.counters?.claimConfirmed?.()
      this.init.assignments.confirm(id).catch((err: unknown) => {
        t.retries ??= new Backoff(CONFIRM_RETRY_BACKOFF)
        const delay = t.retries.next()
        t.retryAt = Date.now() + delay
        this.log.error({ err, assignmentId: id, retryInMs: delay }, 'writing a confirmation failed; will retry')
        this.tracked.set(id, t)
      })
    }
  }
}
