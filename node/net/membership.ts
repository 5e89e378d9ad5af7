import type { DocStore, DocChangeEvent } from '../../crdt/doc-store.js'
import { DEFAULT_LIVENESS_MS } from '../../crdt/rules/leader.js'
import { HEALTH_DELTA } from '../../crdt/rules/lifeguard.js'
import {
  applyStatement, headsAnnounceMs, initialIncarnation, isLiveStatus, refute, swimTimingFor, type MemberState, type SwimTiming
} from '../../crdt/rules/swim.js'
import {
  MAX_ANNOUNCED_NEIGHBOURS, WIRE_VERSION, type AnnounceFrame, type GossipFrame, type MemberEntry, type MembersFrame, type SwimFrame
} from '../../crdt/wire.js'
import { DEFAULT_PRESENCE_INTERVAL_MS } from '../coord/settings.js'
import type { Logger } from '../logger.js'
import { isLivePeer, peerTableGraph, type PeerInfo, type PeerTable } from './peer-table.js'
import { ClaimAcks } from './claim-acks.js'
import { PresenceDelta, type Presence } from './presence-delta.js'
export type { Presence } from './presence-delta.js'
import { Prober } from './prober.js'
import { Suspicions } from './suspicions.js'

/** How often our presence is checked for a change worth announcing (a heartbeat, an address). */
export const DEFAULT_ANNOUNCE_INTERVAL_MS = DEFAULT_PRESENCE_INTERVAL_MS
export { claimantsOf, DEFAULT_ACK_DELAY_MS } from './claim-acks.js'

/** A peer whose heads we have lacked this long gets a full sync round. */
export const DEFAULT_RESYNC_AFTER_MS = 1500

/**
 * Every liveness window a node pushes its member list to one random neighbour (memberlist's
 * periodic push-pull): repairs what lost gossip or an overlay that formed piece by piece left
 * different (a joiner's announcement reaches only the overlay as it was when it joined), at one
 * message per node per period. For this many windows after its start a node does it every probe
 * round instead, so a cluster that starts all at once knows itself within seconds.
 */
export const JOINING_WINDOWS = 3

/** Addresses carried per announcement (peer exchange). */
export const MAX_ANNOUNCED_ADDRS = 32
const MAX_MEMBER_ADDRS = 8

export interface MembershipInit {
  selfId: string
  store: DocStore
  logger: Logger
  peers: PeerTable
  /** Gossips a frame to the cluster (announcements, membership changes); `onSent` learns how many peers it went to. */
  publish: (frame: AnnounceFrame | MembersFrame, onSent?: (recipients: number) => void) => void
  /** Sends a SWIM frame to a neighbour; false when we hold no session with it. */
  sendSwim: (peer: string, frame: SwimFrame) => boolean
  /** Peers we hold a session with. */
  neighbours: () => ReadonlySet<string>
  addresses: () => string[]
  presence: () => Presence
  /** Runs a full sync round with a peer whose heads we keep lacking. */
  resync: (peer: string) => void
  /** Sends our heads to one peer directly; false when we have no session with it. */
  sendHeads: (peer: string, heads: string[]) => boolean
  /** Which peers must promptly hear our heads after this remote change (default: claimantsOf). */
  ackTo?: (evt: DocChangeEvent) => string[]
  /** Presence of a member (its own announcement, or relayed in a member list). */
  onAnnounce: (frame: AnnounceFrame) => void
  /** A peer's heads or liveness changed (the settler re-evaluates). */
  onPeerChange: (peer: string) => void
  announceIntervalMs?: number
  /** The liveness window the detector's timing derives from (default DEFAULT_LIVENESS_MS). */
  livenessMs?: number
  /** Overrides the derived timing (tests). */
  timing?: Partial<SwimTiming>
  ackDelayMs?: number
  /** See ClaimAcksInit.routeAcks (default true). */
  routeAcks?: boolean
  resyncAfterMs?: number
  random?: () => number
}

/**
 * Membership and presence, SWIM-style (rules in crdt/rules/swim.ts): neighbours probe each other
 * (prober.ts), a silent one becomes suspect, and suspicions, deaths and departures are gossiped
 * only when they happen; a live node refutes a suspicion about itself with a higher incarnation.
 * A node announces itself (heads, addresses, HTTP URL, merger flag, agents' beats) at start, on
 * joining the overlay, and when any of it changed (then only the beats that changed): nothing is
 * sent periodically but the probes (and one member list to one neighbour per liveness window), so
 * per-node traffic does not grow with the cluster. On a new session both sides send their member
 * list (push-pull); a suspicion, death or departure that was news is gossiped on.
 * Acks for claims go to the claimant directly (see the settle rule in README).
 */
export class Membership {
  private readonly init: MembershipInit
  private readonly resyncAfterMs: number
  readonly announceIntervalMs: number
  readonly timing: SwimTiming
  private readonly livenessMs: number
  readonly prober: Prober
  /** Our incarnation: only we raise it, to refute a suspicion about us. */
  incarnation = initialIncarnation(Date.now())
  readonly acks: ClaimAcks
  private timer: NodeJS.Timeout | null = null
  private running = false
  /** Members currently suspect, with Lifeguard's confirmations: what the suspicion timeouts are checked over. */
  private readonly suspicions: Suspicions
  /** Member lists received from neighbours, entries of them that were news and went on, announcements sent again because nobody heard one. */
  readonly stats = { pushPulls: 0, newsSpread: 0, reannounced: 0 }
  /** Our last announcement reached no peer although we have neighbours: sent again whole on the next tick. */
  private unheard = false
  private announceSeq = 0
  private readonly delta = new PresenceDelta()
  private lastPushPullAt = Date.now()
  private startedAt = Date.now()
  private readonly random: () => number

  constructor (init: MembershipInit) {
    this.init = init
    this.timing = { ...swimTimingFor(init.livenessMs ?? DEFAULT_LIVENESS_MS), ...init.timing }
    this.suspicions = new Suspicions({ minMs: this.timing.suspicionMs })
    this.announceIntervalMs = init.announceIntervalMs ?? DEFAULT_ANNOUNCE_INTERVAL_MS
    this.resyncAfterMs = init.resyncAfterMs ?? DEFAULT_RESYNC_AFTER_MS
    // The overlay as announced: ack routes and the prober's ping-req helpers (pickHelpers) read it.
    const overlay = peerTableGraph(init.selfId, init.peers, init.neighbours)
    this.acks = new ClaimAcks({
      selfId: init.selfId,
      store: init.store,
      sendHeads: init.sendHeads,
      sendRelay: (peer, frame) => init.sendSwim(peer, frame),
      graph: overlay,
      // Only about members we know: a relayed frame must not grow the peer table with made-up ids.
      onAck: (node, heads) => {
        const peer = init.peers.find(node)
        if (peer === undefined) return
        this.receiveHeads(node, heads)
        this.checkBehind(peer, Date.now())
        init.onPeerChange(node)
      },
      // A claimant no known path reaches (the overlay not announced yet) still needs our heads:
      // the announcement reaches it through gossip.
      broadcast: () => { if (this.running) this.announce() },
      ...(init.ackTo === undefined ? {} : { ackTo: init.ackTo }),
      ...(init.ackDelayMs === undefined ? {} : { ackDelayMs: init.ackDelayMs }),
      ...(init.routeAcks === undefined ? {} : { routeAcks: init.routeAcks })
    })
    this.random = init.random ?? Math.random
    this.livenessMs = init.livenessMs ?? DEFAULT_LIVENESS_MS
    this.prober = new Prober({
      selfId: init.selfId, timing: this.timing, neighbours: init.neighbours, neighboursOf: overlay.neighboursOf,
      send: init.sendSwim,
      heads: () => init.store.heads(),
      onAlive: (peer, heads) => { this.evidence(peer, heads) },
      onSuspect: (peer) => { this.suspect(peer) },
      ...(init.random === undefined ? {} : { random: init.random })
    })
  }

  start (): void {
    this.running = true
    this.startedAt = Date.now()
    this.acks.start()
    this.timer = setInterval(() => { this.tick() }, this.announceIntervalMs)
    this.prober.start()
    this.announce()
  }

  /** Says goodbye (others drop us at once instead of suspecting us), then stops. */
  stop (): void {
    if (this.running) this.publishMembers([{ node: this.init.selfId, status: 'left', inc: this.incarnation }])
    this.running = false
    this.prober.stop()
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    this.acks.stop()
  }

  /** Announces everything now (heads, addresses, every heartbeat): our alive statement. */
  announce (): void {
    this.send(true, Date.now())
  }

  /**
   * Periodic: an announcement only if presence changed; suspicions that ran out become deaths;
   * now and then our member list to one random neighbour.
   */
  tick (now = Date.now()): void {
    if (this.unheard && this.init.neighbours().size > 0) {
      this.stats.reannounced++
      this.init.logger.debug({ neighbours: this.init.neighbours().size }, 'our announcement reached nobody: announcing again')
      this.send(true, now)
    } else {
      this.send(false, now)
    }
    const every = now - this.startedAt < JOINING_WINDOWS * this.livenessMs ? this.timing.roundMs : this.livenessMs
    if (now - this.lastPushPullAt >= every) {
      this.lastPushPullAt = now
      const neighbours = [...this.init.neighbours()]
      const peer = neighbours[Math.floor(this.random() * neighbours.length)]
      if (peer !== undefined) this.init.sendSwim(peer, { t: 'members', members: this.memberList() })
    }
    for (const [id, dead] of this.suspicions.expired(now, (id) => this.init.peers.find(id))) this.state(id, dead, now, true)
  }

  private send (full: boolean, now: number): void {
    if (!this.running) return
    const p = this.init.presence()
    const own = { http: p.http, addrs: this.init.addresses().slice(0, MAX_ANNOUNCED_ADDRS), merger: p.merger === true, nbrs: this.ownNeighbours(), beats: p.beats }
    const heads = this.init.store.heads()
    // Counting the live members walks the peer table: only on a tick with changed heads to announce.
    const beats = this.delta.next(own, full, now, heads, () => headsAnnounceMs(this.init.peers.live().length + 1))
    if (beats === null) return
    // A joiner announces on its first session, often before gossip has heard that peer's
    // subscriptions: that announcement reaches nobody, and the others (who pass on news of
    // suspects and deaths, not of live members) would only hear of it at its next change.
    const seq = ++this.announceSeq
    this.unheard = false
    this.init.publish({ v: WIRE_VERSION, t: 'announce', node: this.init.selfId, heads, at: now, ...own, beats, inc: this.incarnation }, (recipients) => {
      if (seq === this.announceSeq) this.unheard = recipients === 0
    })
  }

  private ownNeighbours (): string[] {
    return [...this.init.neighbours()].sort().slice(0, MAX_ANNOUNCED_NEIGHBOURS)
  }

  /** A peer told us its heads directly (an acknowledgement of our claim). */
  receiveHeads (peerId: string, heads: string[], now = Date.now()): void {
    const peer = this.init.peers.get(peerId)
    peer.heads = heads
    peer.headsAt = now
  }

  /** A validated gossip frame: the publisher's heads; its announcement, or membership changes. */
  receive (frame: GossipFrame, now = Date.now()): void {
    if (frame.node === this.init.selfId) return
    const peer = this.init.peers.get(frame.node)
    peer.heads = frame.heads
    peer.headsAt = now
    if (frame.t === 'members') {
      // The publisher signed the frame: a suspicion in it is its own (a confirmation, Lifeguard).
      for (const m of frame.members) this.entry(m, now, frame.node)
      return
    }
    if (frame.t !== 'announce') return
    peer.lastSeenAt = now
    this.state(frame.node, { status: 'alive', incarnation: frame.inc ?? 0 }, now, false)
    this.presence(peer, frame)
    this.checkBehind(peer, now)
    this.init.onAnnounce(frame)
  }

  /** A SWIM frame from a neighbour: probes go to the prober, a member list is merged, acks are delivered or passed on. */
  receiveSwim (from: string, frame: SwimFrame, now = Date.now()): void {
    if (frame.t === 'relay') {
      this.acks.receive(frame)
      return
    }
    if (frame.t !== 'members') {
      this.prober.receive(from, frame)
      return
    }
    const news: MemberEntry[] = []
    for (const m of frame.members) if (this.entry(m, now, null) && m.status !== 'alive') news.push({ node: m.node, status: m.status, inc: m.inc })
    this.stats.pushPulls++
    this.stats.newsSpread += news.length
    // A suspicion, death or departure that was news to us may be news to others (after a
    // partition heals, it is how a node hears it was declared dead, and refutes): pass it on
    // once. News of a live member is not: it announced itself when it joined, and periodic
    // push-pulls carry it further, so a forming cluster does not flood every member list.
    if (news.length > 0) this.publishMembers(news)
  }

  /** A session opened: swap member lists (push-pull); our first neighbour means we joined. */
  opened (peer: string, neighbourCount: number): void {
    this.acks.routes.invalidate()
    this.evidence(peer, null)
    this.init.sendSwim(peer, { t: 'members', members: this.memberList() })
    if (neighbourCount === 1) this.announce()
  }

  /** A session closed: find out through other neighbours whether the peer is gone. */
  closed (peer: string): void {
    this.acks.routes.invalidate()
    if (this.running) this.prober.lost(peer)
  }

  /** Our member list: ourselves and every member we know, with presence for the alive ones. */
  private memberList (): MemberEntry[] {
    const p = this.init.presence()
    const own: MemberEntry = {
      node: this.init.selfId, status: 'alive', inc: this.incarnation, http: p.http,
      addrs: this.init.addresses().slice(0, MAX_MEMBER_ADDRS), merger: p.merger === true, heads: this.init.store.heads(), at: Date.now(), beats: p.beats,
      nbrs: this.ownNeighbours()
    }
    return [own, ...this.init.peers.memberEntries(MAX_MEMBER_ADDRS)]
  }

  /** One member entry (gossip, with its publisher; or push-pull, by: null); true if it changed what we hold. */
  private entry (m: MemberEntry, now: number, by: string | null): boolean {
    const changed = this.state(m.node, { status: m.status, incarnation: m.inc }, now, false, by)
    // A statement about us is refuted (by announcing), not passed on.
    if (m.node === this.init.selfId) return false
    if (m.status !== 'alive') return changed
    const peer = this.init.peers.get(m.node)
    // Second-hand presence fills in what we lack; the member's own announcements win.
    if (m.http !== undefined && peer.http === null) peer.http = m.http
    if (m.addrs !== undefined && peer.addrs.length === 0) peer.addrs = m.addrs
    if (m.merger !== undefined && changed) peer.merger = m.merger
    // Second-hand links fill in a member whose own announcement has not reached us.
    if (m.nbrs !== undefined && peer.nbrs.length === 0 && m.nbrs.length > 0) this.links(peer, m.nbrs)
    if (m.heads !== undefined && peer.headsAt === null) {
      peer.heads = m.heads
      peer.headsAt = now
    }
    if (changed) {
      this.init.onAnnounce({ v: WIRE_VERSION, t: 'announce', node: m.node, heads: peer.heads, at: m.at ?? now, http: peer.http, addrs: peer.addrs, beats: m.beats ?? [], merger: peer.merger, inc: m.inc })
    }
    return changed
  }

  /**
   * Applies a statement about a member (or refutes one about us); true if it changed anything.
   * `spread`: we made it (a suspicion or a death we decided), so we gossip it. `by`: the member
   * that made a suspicion (null: unknown), counted as a confirmation.
   */
  private state (node: string, s: MemberState, now: number, spread: boolean, by: string | null = null): boolean {
    if (node === this.init.selfId) {
      const inc = refute(this.incarnation, s)
      if (inc === null) return false
      // Suspected: we were too slow to answer (Lifeguard's local health).
      if (s.status !== 'alive') this.prober.adjustHealth(HEALTH_DELTA.refuted)
      this.incarnation = inc
      this.init.logger.info({ about: s.status, incarnation: inc }, 'refuting a statement about this node')
      this.announce()
      return true
    }
    const peer = this.init.peers.get(node)
    const current = peer.status === null ? undefined : { status: peer.status, incarnation: peer.incarnation, since: peer.statusSince }
    const next = applyStatement(current, s, now)
    if (next === null) {
      if (by !== null && s.status === 'suspect' && current?.status === 'suspect' && current.incarnation === s.incarnation) this.suspicions.confirm(node, s.incarnation, by)
      return false
    }
    const wasLive = peer.status === null || isLiveStatus(peer.status)
    // The last moment it was live for us is what lastSeen() reports once it is not.
    if (isLivePeer(peer) && !isLiveStatus(next.status)) peer.lastSeenAt = now
    peer.status = next.status
    peer.incarnation = next.incarnation
    peer.statusSince = next.since
    // Who could confirm: the live members holding a session with it, as it announced them.
    if (next.status === 'suspect') {
      this.suspicions.start(node, next.incarnation, now, by, this.init.peers.countLive(peer.nbrs, this.init.selfId))
      // Another's suspicion of a neighbour of ours: probe it now, so that a failure is confirmed
      // (Lifeguard shortens the suspicion) by neighbours that do not otherwise ping it each round.
      // Not while we are slow ourselves: our failed probe would be a false confirmation.
      if (by !== this.init.selfId && this.prober.health === 0 && this.init.neighbours().has(node)) this.prober.probe(node)
    } else {
      this.suspicions.end(node)
    }
    if (next.status !== 'alive') this.init.logger.info({ peer: node, status: next.status, incarnation: next.incarnation }, 'member status changed')
    if (spread) this.publishMembers([{ node, status: next.status, inc: next.incarnation }])
    if (wasLive !== isLiveStatus(next.status)) {
      this.acks.routes.invalidate()
      this.init.onPeerChange(node)
    }
    return true
  }

  /** A neighbour answered or probed us: alive now, with its heads when it sent them. */
  private evidence (peerId: string, heads: string[] | null, now = Date.now()): void {
    const peer = this.init.peers.get(peerId)
    peer.lastSeenAt = now
    if (heads === null) return
    const moved = peer.heads.length !== heads.length || peer.heads.some((h, i) => h !== heads[i])
    peer.headsAt = now
    // The same heads, already found complete here, still are (a replica only grows): no lookup per probe.
    if (!moved && peer.heads === peer.checkedHeads) return
    peer.heads = heads
    this.checkBehind(peer, now)
    if (moved) this.init.onPeerChange(peerId)
  }

  /** A neighbour's probe went unanswered, directly and through others: suspect it. */
  private suspect (peerId: string): void {
    if (!this.running) return
    const peer = this.init.peers.find(peerId)
    if (peer === undefined) return
    // Already suspect (another's suspicion came first): our failed probe confirms it, published once (Lifeguard).
    if (peer.status === 'suspect' && this.suspicions.confirm(peerId, peer.incarnation, this.init.selfId)) this.publishMembers([{ node: peerId, status: 'suspect', inc: peer.incarnation }])
    // A member we hold no statement about yet (its announcement never reached us) is suspected at 0.
    if (peer.status !== null && peer.status !== 'alive') return
    this.state(peerId, { status: 'suspect', incarnation: peer.incarnation }, Date.now(), true, this.init.selfId)
  }

  private publishMembers (members: MemberEntry[]): void {
    if (!this.running) return
    this.init.publish({ v: WIRE_VERSION, t: 'members', node: this.init.selfId, heads: this.init.store.heads(), members })
  }

  private presence (peer: PeerInfo, frame: AnnounceFrame): void {
    peer.http = frame.http
    peer.addrs = frame.addrs
    peer.beats = frame.beats
    peer.merger = frame.merger === true
    if (frame.nbrs !== undefined) this.links(peer, frame.nbrs)
  }

  private links (peer: PeerInfo, nbrs: string[]): void {
    if (peer.nbrs.length === nbrs.length && peer.nbrs.every((n, i) => n === nbrs[i])) return
    peer.nbrs = nbrs
    this.acks.routes.invalidate()
  }

  /** If a peer keeps showing heads we lack, gossip lost something: run a full sync round. */
  private checkBehind (peer: PeerInfo, now: number): void {
    if (this.init.store.missingDeps(peer.heads).length === 0) {
      peer.missingSince = null
      peer.checkedHeads = peer.heads
      return
    }
    peer.checkedHeads = null
    if (peer.missingSince === null) {
      peer.missingSince = now
    } else if (now - peer.missingSince >= this.resyncAfterMs) {
      peer.missingSince = now
      this.init.logger.debug({ peer: peer.nodeId }, 'peer has heads we lack; resyncing')
      this.init.resync(peer.nodeId)
    }
  }
}
