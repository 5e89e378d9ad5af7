import type { DocStore, DocChangeEvent } from '../../crdt/doc-store.js'
import { getIn } from '../../crdt/collections.js'
import { read } from '../../crdt/schema.js'
import { MAX_RELAY_HOPS, type SwimFrame } from '../../crdt/wire.js'
import { AckRoutes, type RouteGraph } from './ack-routes.js'

/** After a remote change, tell peers our heads this soon (claims are confirmed on these acks). */
export const DEFAULT_ACK_DELAY_MS = 20

/**
 * The nodes whose claims (assignments) a change touched, except ourselves: they wait for our
 * heads to confirm a claim (the settle rule), so they hear them directly. O(patches), no scan.
 */
export function claimantsOf (store: DocStore, selfId: string, evt: DocChangeEvent): string[] {
  const out = new Set<string>()
  for (const p of evt.patches) {
    // Assignments live in buckets: ['assignments', bucket, id, ...field].
    if (p.path[0] !== 'assignments' || typeof p.path[2] !== 'string') continue
    const a = getIn(store.doc.assignments, p.path[2])
    const node = a === undefined ? undefined : read(a.nodeId)
    if (node !== undefined && node !== selfId) out.add(node)
  }
  return [...out]
}

export interface ClaimAcksInit {
  selfId: string
  store: DocStore
  /** Sends our heads to one peer directly; false when we have no session with it. */
  sendHeads: (peer: string, heads: string[]) => boolean
  /** Hands acks for a farther claimant to a neighbour; false when we have no session with it. */
  sendRelay: (peer: string, frame: RelayFrame) => boolean
  /** The overlay as this node knows it, which acks for farther claimants are routed over. */
  graph: RouteGraph
  /** Another node's heads reached us relayed (an ack of one of our claims). */
  onAck: (node: string, heads: string[]) => void
  /** Makes our heads known to everyone (an announcement), for a claimant we know no path to. */
  broadcast: () => void
  /** Which peers must promptly hear our heads after this remote change (default: claimantsOf). */
  ackTo?: (evt: DocChangeEvent) => string[]
  ackDelayMs?: number
  /**
   * Route acks to claimants that are not neighbours (default true). False restores the older
   * behaviour, an announcement to everyone, so the simulator can compare both in one run.
   */
  routeAcks?: boolean
}

/** What ClaimAcks sent: cumulative counters (metrics: fleet_claim_acks_total). */
export interface ClaimAckStats {
  /** Heads frames to a claimant that is a neighbour. */
  direct: number
  /** Relay frames handed to a next hop (ours and/or others' acks). */
  relayFrames: number
  /** Others' acks passed on inside those frames. */
  relayedAcks: number
  /** Others' acks dropped: no known path, or past the hop limit. */
  dropped: number
  /** Announcements made because no known path reached a claimant. */
  broadcasts: number
}

export type RelayFrame = Extract<SwimFrame, { t: 'relay' }>

/** Acks on their way to one claimant: ours (flag) and others' we pass on (latest heads per node). */
interface Outbox {
  own: boolean
  relayed: Map<string, string[]>
  hops: number
}

/**
 * Acknowledgements for the settle rule: after a remote change to claims, each claiming node gets
 * our heads over the overlay: directly when it is a neighbour, else hop by hop along a shortest
 * path of the announced links (ack-routes.ts), each hop gathering every ack bound the same way in
 * the window into one frame. So a claim costs each other node one message of its own plus its
 * share of the forwarding, not one broadcast delivered to every node. A short delay gathers a
 * burst into one ack per claimant. Only a claimant no known path reaches gets an announcement.
 */
export class ClaimAcks {
  private readonly init: ClaimAcksInit
  private readonly ackTo: (evt: DocChangeEvent) => string[]
  private readonly delayMs: number
  private readonly outboxes = new Map<string, Outbox>()
  private timer: NodeJS.Timeout | null = null
  /** Shortest paths over the announced links (invalidate on any link or liveness change). */
  readonly routes: AckRoutes
  readonly stats: ClaimAckStats = { direct: 0, relayFrames: 0, relayedAcks: 0, dropped: 0, broadcasts: 0 }

  constructor (init: ClaimAcksInit) {
    this.init = init
    this.ackTo = init.ackTo ?? ((evt) => claimantsOf(init.store, init.selfId, evt))
    this.delayMs = init.ackDelayMs ?? DEFAULT_ACK_DELAY_MS
    this.routes = new AckRoutes(init.graph)
  }

  start (): void {
    this.init.store.on('change', this.onStoreChange)
  }

  stop (): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.outboxes.clear()
    this.init.store.off('change', this.onStoreChange)
  }

  /** A neighbour handed us acks: ours to take if we are the claimant, else passed on with the next batch. */
  receive (frame: RelayFrame): void {
    if (frame.to === this.init.selfId) {
      for (const a of frame.acks) if (a.node !== this.init.selfId) this.init.onAck(a.node, a.heads)
      return
    }
    if (frame.hops + 1 > MAX_RELAY_HOPS) {
      this.stats.dropped += frame.acks.length
      return
    }
    const box = this.outbox(frame.to)
    box.hops = Math.max(box.hops, frame.hops + 1)
    for (const a of frame.acks) if (a.node !== frame.to) box.relayed.set(a.node, a.heads)
    this.arm()
  }

  private readonly onStoreChange = (evt: DocChangeEvent): void => {
    if (evt.origin === 'local') return
    const claimants = this.ackTo(evt)
    if (claimants.length === 0) return
    for (const peer of claimants) this.outbox(peer).own = true
    this.arm()
  }

  private outbox (dest: string): Outbox {
    let box = this.outboxes.get(dest)
    if (box === undefined) this.outboxes.set(dest, box = { own: false, relayed: new Map(), hops: 0 })
    return box
  }

  private arm (): void {
    if (this.timer !== null) return
    this.timer = setTimeout(() => {
      this.timer = null
      this.send()
    }, this.delayMs)
  }

  private send (): void {
    const heads = this.init.store.heads()
    let unreachable = false
    for (const [dest, box] of this.outboxes) {
      // Without routing only a neighbour claimant is reached directly (no route table needed).
      const hop = this.init.routeAcks !== false ? this.routes.nextHop(dest) : this.init.graph.neighbours().has(dest) ? dest : null
      if (box.own && box.relayed.size === 0 && hop === dest) {
        if (this.init.sendHeads(dest, heads)) {
          this.stats.direct++
          continue
        }
      } else if (hop !== null) {
        const acks = [...box.relayed].map(([node, h]) => ({ node, heads: h }))
        if (box.own) acks.push({ node: this.init.selfId, heads })
        if (this.init.sendRelay(hop, { t: 'relay', to: dest, hops: box.hops, acks })) {
          this.stats.relayFrames++
          this.stats.relayedAcks += box.relayed.size
          continue
        }
      }
      // No path (the graph is not known yet, or the claimant is cut off): others' acks are
      // dropped (their senders' claims wait, as for a lost frame), ours goes out as an announcement.
      this.stats.dropped += box.relayed.size
      if (box.own) unreachable = true
    }
    this.outboxes.clear()
    if (unreachable) {
      this.stats.broadcasts++
      this.init.broadcast()
    }
  }
}
