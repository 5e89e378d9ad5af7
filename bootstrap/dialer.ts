import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Log } from '../crdt/log.js'
import { Backoff, backoffDelay, type BackoffInit } from './backoff.js'
import { DEFAULT_MAX_PEERS, groupByPeer, learnableAddrs, sameAddrs, type BootstrapPeer } from './peers.js'
import { DEFAULT_TRIM_GRACE_MS, inboundSlackFor } from './trim.js'
import { InboundTrimmer } from './trimmer.js'
import type { DialerHost, DialTargetStatus } from './dialer-types.js'
import { DnsResolveError, resolveDialAddrs, type LookupFn, systemLookup } from './resolve.js'

export { DEFAULT_INBOUND_SLACK_FRACTION, DEFAULT_TRIM_GRACE_MS, inboundSlackFor, type DialerConnection } from './trim.js'
export { DEFAULT_MAX_PEERS, learnableAddrs } from './peers.js'
export type { DialerHost, DialTargetStatus } from './dialer-types.js'

export const DEFAULT_MIN_BACKOFF_MS = 250
export const DEFAULT_MAX_BACKOFF_MS = 10_000
export const DEFAULT_CHECK_INTERVAL_MS = 250
/**
 * Longer than libp2p's inbound upgrade timeout (10 s): a dial abandoned before the busy peer got
 * to it leaves that peer a handshake to finish for nobody, and a redial adds another; under load
 * a bootstrap node that many joiners dial at once never caught up (24 nodes on 2 cores).
 */
export const DEFAULT_DIAL_TIMEOUT_MS = 15_000
/** A bootstrap peer unreachable this long gets one warning (the first failure is logged at info). */
export const DEFAULT_WARN_AFTER_MS = 60_000
/** A learned peer nobody has announced for this long is forgotten (it left the cluster). */
export const DEFAULT_FORGET_AFTER_MS = 30 * 60_000
/** Learned peers beyond this many are ignored: a cluster is a handful of VMs. */
export const DEFAULT_MAX_LEARNED_PEERS = 256

/**
 * Bootstrap peers are dialed regardless of room while fewer than this many peers are connected:
 * a node that has not joined yet, or whose neighbours all died, finds the overlay again through
 * them. Above it they are candidates like learned peers (see PeerDialer).
 */
export const DEFAULT_MIN_PEERS = 1
/**
 * A peer that dropped while a live member announcing more than maxPeers live neighbours (it is
 * over the bound: it trimmed us) is not redialed for this long while it stays live and we have
 * other neighbours, so a joiner does not fight the node that trimmed it. A peer that crashed or
 * restarts is held back only until membership declares it dead (seconds); one with few neighbours
 * (a small cluster's restarting bootstrap node) or declared dead first (a partition) not at all.
 */
export const DEFAULT_REDIAL_QUIET_MS = 60_000

export interface PeerDialerInit {
  libp2p: DialerHost
  logger: Log
  /**
   * Peers to stay connected to; a node may start before them and joins when they appear.
   * Our own entry (the same list on every VM) is skipped; several addresses of one peer are
   * dialed together.
   */
  bootstrap: BootstrapPeer[]
  /** Retry delay after a first failed dial; doubles up to maxBackoffMs, each delay with jitter (half to all of it; bootstrap/backoff.ts). Default 250. */
  minBackoffMs?: number
  /** Default 10,000. */
  maxBackoffMs?: number
  /** How often connections are checked and due dials started. Default 250. */
  checkIntervalMs?: number
  /** Default DEFAULT_DIAL_TIMEOUT_MS (15,000). */
  dialTimeoutMs?: number
  /** Default 60,000. */
  warnAfterMs?: number
  /** Default 30 minutes. */
  forgetAfterMs?: number
  /** Default 256. */
  maxLearnedPeers?: number
  /** Peers this node dials up to, inbound ones included (default DEFAULT_MAX_PEERS); see minPeers. */
  maxPeers?: number
  /** Bootstrap peers are dialed whatever the room while fewer peers than this are connected. Default DEFAULT_MIN_PEERS (1). */
  minPeers?: number
  /** Peers beyond maxPeers + this are trimmed (bootstrap/trim.ts). Default inboundSlackFor(maxPeers): half, rounded up. */
  inboundSlack?: number
  /** Default DEFAULT_TRIM_GRACE_MS (10,000). */
  trimGraceMs?: number
  /**
   * The live neighbours a peer last announced (membership); without it nothing is trimmed
   * (the dialer cannot tell whether a peer has another way into the overlay).
   */
  neighboursOf?: (peerId: string) => readonly string[]
  /** Whether a peer is a live member (membership); without it a dropped peer is never held back. Default: none is. */
  isLive?: (peerId: string) => boolean
  /** Default DEFAULT_REDIAL_QUIET_MS (60,000). */
  redialQuietMs?: number
  /** Name resolution for /dns addresses; default the system resolver. */
  lookup?: LookupFn
  /** For tests: the clock and the jitter source. */
  now?: () => number
  random?: () => number
}

interface Target {
  peerId: PeerId
  configured: Multiaddr[]
  learned: Multiaddr[]
  bootstrap: boolean
  backoff: Backoff
  nextAttemptAt: number
  dialing: boolean
  failures: number
  lastError: string | null
  unreachableSince: number | null
  warned: boolean
  lastSeenAt: number
  /** The addresses its last usable announcement carried, as sent (a repeat skips parsing them again). */
  announced: string | null
  /** Not dialed before this unless we have no neighbour (it hung up on us; DEFAULT_REDIAL_QUIET_MS). */
  quietUntil: number
}

/**
 * Keeps this node connected with a bounded set of neighbours. While fewer than minPeers peers
 * are connected (not joined yet, or every neighbour died) it dials all its bootstrap peers at
 * once and redials them with exponential backoff and jitter while they are unreachable, and
 * again soon after a connection drops (a peer restarting). Otherwise bootstrap peers and peers
 * learned from members' announcements (peer exchange) are candidates alike: while fewer than
 * maxPeers connections are open (inbound ones count), random candidates are dialed, so each node
 * holds a random set of neighbours (not a full mesh), a dropped neighbour is replaced by another,
 * and the overlay stays connected when a bootstrap node dies. A joiner does not insist on its
 * bootstrap peer: that one trims joiners once it holds more than maxPeers + inboundSlack peers
 * (bootstrap/trim.ts), and a trimmed joiner redials it only if it is left alone.
 */
export class PeerDialer {
  private readonly host: DialerHost
  private readonly log: Log
  private readonly selfId: string
  private readonly backoffInit: BackoffInit
  private readonly checkIntervalMs: number
  private readonly dialTimeoutMs: number
  private readonly warnAfterMs: number
  private readonly forgetAfterMs: number
  private readonly maxLearnedPeers: number
  readonly maxPeers: number
  private readonly minPeers: number
  /** Connected peers above this are trimmed. */
  readonly cap: number
  private readonly trimmer: InboundTrimmer
  private readonly isLive: (peerId: string) => boolean
  private readonly neighboursOf: (peerId: string) => readonly string[]
  private readonly redialQuietMs: number
  private readonly random: () => number
  private readonly lookup: LookupFn
  private readonly now: () => number
  private readonly targets = new Map<string, Target>()
  private readonly abort = new AbortController()
  private timer: NodeJS.Timeout | null = null

  constructor (init: PeerDialerInit) {
    this.host = init.libp2p
    this.log = init.logger
    this.selfId = init.libp2p.peerId.toString()
    this.checkIntervalMs = init.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS
    this.dialTimeoutMs = init.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS
    this.warnAfterMs = init.warnAfterMs ?? DEFAULT_WARN_AFTER_MS
    this.forgetAfterMs = init.forgetAfterMs ?? DEFAULT_FORGET_AFTER_MS
    this.maxLearnedPeers = init.maxLearnedPeers ?? DEFAULT_MAX_LEARNED_PEERS
    this.maxPeers = init.maxPeers ?? DEFAULT_MAX_PEERS
    if (!Number.isInteger(this.maxPeers) || this.maxPeers < 1) throw new RangeError(`maxPeers must be a whole number >= 1, got ${this.maxPeers}`)
    this.minPeers = Math.min(init.minPeers ?? DEFAULT_MIN_PEERS, this.maxPeers)
    const slack = init.inboundSlack ?? inboundSlackFor(this.maxPeers)
    if (!Number.isInteger(slack) || slack < 0) throw new RangeError(`inboundSlack must be a whole number >= 0, got ${slack}`)
    this.cap = this.maxPeers + slack
    this.isLive = init.isLive ?? (() => false)
    this.neighboursOf = init.neighboursOf ?? (() => [])
    this.redialQuietMs = init.redialQuietMs ?? DEFAULT_REDIAL_QUIET_MS
    this.trimmer = new InboundTrimmer({
      selfId: this.selfId,
      getConnections: () => this.host.getConnections(),
      hangUp: async (peer) => { await this.host.hangUp(peer) },
      log: this.log,
      cap: this.cap,
      graceMs: init.trimGraceMs ?? DEFAULT_TRIM_GRACE_MS,
      isBootstrap: (id) => this.targets.get(id)?.bootstrap === true,
      neighboursOf: this.neighboursOf
    })
    this.random = init.random ?? Math.random
    this.lookup = init.lookup ?? systemLookup
    this.now = init.now ?? Date.now
    this.backoffInit = { baseMs: init.minBackoffMs ?? DEFAULT_MIN_BACKOFF_MS, maxMs: init.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS, random: init.random ?? Math.random }
    for (const [id, addrs] of groupByPeer(init.bootstrap)) {
      if (id === this.selfId) {
        this.log.debug({ addrs: addrs.map(String) }, 'own address in the bootstrap list; skipped')
        continue
      }
      this.targets.set(id, this.newTarget(id, addrs, [], true))
    }
  }

  start (): void {
    if (this.timer !== null || this.abort.signal.aborted) return
    this.host.addEventListener('peer:disconnect', this.onDisconnect)
    this.timer = setInterval(() => { this.check() }, this.checkIntervalMs)
    this.check()
  }

  /** Stops dialing and aborts dials in flight; final (a stopped dialer does not start again). */
  stop (): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    this.abort.abort()
    this.host.removeEventListener('peer:disconnect', this.onDisconnect)
  }

  /**
   * A member announced itself with these addresses (peer exchange): stay connected to it too.
   * Wildcard, non-TCP and malformed addresses are dropped, and loopback ones too when the peer
   * has others (127.0.0.1 on another VM is not that peer).
   */
  learn (peerIdText: string, addrs: string[]): void {
    if (peerIdText === this.selfId) return
    const now = this.now()
    const announced = addrs.join(' ')
    const known = this.targets.get(peerIdText)
    // Every announcement and member list repeats the addresses: parsing them again each time was
    // most of the dialer's idle CPU in a 16-node cluster.
    if (known !== undefined && known.announced === announced) {
      known.lastSeenAt = now
      return
    }
    const usable = learnableAddrs(peerIdText, addrs)
    if (usable.length === 0) return
    const t = known
    if (t === undefined) {
      const learnedCount = [...this.targets.values()].filter(x => !x.bootstrap).length
      if (learnedCount >= this.maxLearnedPeers) {
        this.log.debug({ peer: peerIdText }, 'too many learned peers; ignoring announcement')
        return
      }
      this.targets.set(peerIdText, { ...this.newTarget(peerIdText, [], usable, false), announced })
      this.log.debug({ peer: peerIdText, addrs: usable.map(String) }, 'learned a peer')
      return
    }
    t.lastSeenAt = now
    t.announced = announced
    if (sameAddrs(t.learned, usable)) return
    t.learned = usable
    // New addresses (a peer restarted on another port or IP): worth a prompt dial.
    if (!t.dialing && !this.connected(t)) {
      t.backoff.reset()
      t.nextAttemptAt = now
    }
  }

  /** Peer ids this node keeps (or tries to keep) a connection to. */
  knownPeers (): string[] {
    return [...this.targets.keys()]
  }

  status (): DialTargetStatus[] {
    return [...this.targets.entries()].map(([id, t]) => ({
      peerId: id,
      bootstrap: t.bootstrap,
      addrs: [...t.configured, ...t.learned].map(String),
      connected: this.connected(t),
      dialing: t.dialing,
      failures: t.failures,
      lastError: t.lastError,
      retryingSince: t.unreachableSince,
      nextAttemptAt: t.nextAttemptAt
    }))
  }

  /**
   * One round: trim inbound connections over the cap, forget silent learned peers, start the
   * dials that are due. Runs on a timer. While fewer than minPeers peers are connected every due
   * bootstrap peer is dialed; otherwise due candidates (bootstrap or learned) are dialed only
   * while open connections plus dials in flight stay under maxPeers, in random order (so
   * neighbours are a random sample of members).
   */
  check (): void {
    if (this.abort.signal.aborted) return
    const now = this.now()
    const connected = this.trimmer.run(now)
    const due: Array<[string, Target]> = []
    for (const [id, t] of this.targets) {
      if (this.connected(t)) continue
      if (!t.bootstrap && now - t.lastSeenAt > this.forgetAfterMs) {
        this.targets.delete(id)
        this.log.debug({ peer: id }, 'forgot a peer nobody announced for a long time')
        continue
      }
      if (t.dialing || now < t.nextAttemptAt) continue
      due.push([id, t])
    }
    if (due.length === 0) return
    let dialing = 0
    for (const t of this.targets.values()) if (t.dialing) dialing++
    let room = this.maxPeers - connected - dialing
    const joining = connected < this.minPeers
    for (const [id, t] of this.shuffled(due, joining)) {
      if (!joining && now < t.quietUntil && this.isLive(id)) continue
      if (room <= 0 && !(joining && t.bootstrap)) continue
      room--
      this.start1(id, t)
    }
  }

  /**
   * While joining (fewer than minPeers connected), bootstrap targets first (dialed whatever the
   * room); the rest, and all of them otherwise, in random order.
   */
  private shuffled (due: Array<[string, Target]>, joining: boolean): Array<[string, Target]> {
    const first = joining ? due.filter(([, t]) => t.bootstrap) : []
    const mixed = joining ? due.filter(([, t]) => !t.bootstrap) : [...due]
    for (let i = mixed.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1)) % (i + 1)
      const x = mixed[i] as [string, Target]
      mixed[i] = mixed[j] as [string, Target]
      mixed[j] = x
    }
    return [...first, ...mixed]
  }

  private start1 (id: string, t: Target): void {
    t.dialing = true
    this.dial(t).then(() => {
      if (t.failures > 0 || t.bootstrap) {
        this.log.info({ peer: id, failedAttempts: t.failures }, t.bootstrap ? 'connected to bootstrap peer' : 'connected to peer')
      }
      t.failures = 0
      t.lastError = null
      t.unreachableSince = null
      t.warned = false
      t.backoff.reset()
    }, (err: unknown) => {
      if (this.abort.signal.aborted) return
      this.failed(id, t, err)
    }).finally(() => { t.dialing = false })
  }

  private failed (id: string, t: Target, err: unknown): void {
    const now = this.now()
    const delay = t.backoff.next()
    t.nextAttemptAt = now + delay
    t.failures++
    t.lastError = (err as Error).message ?? String(err)
    t.unreachableSince ??= now
    const fields = { peer: id, addrs: [...t.configured, ...t.learned].map(String), err: t.lastError, retryInMs: delay, attempts: t.failures }
    if (!t.bootstrap) {
      this.log.debug(fields, 'dial failed')
    } else if (t.failures === 1 && err instanceof DnsResolveError) {
      // A name that does not resolve is likely a typo or a missing DNS record, not a peer that is
      // still starting: say so at once (and keep retrying: the record may appear).
      t.warned = true
      this.log.warn(fields, `bootstrap address does not resolve: ${t.lastError}; still retrying`)
    } else if (t.failures === 1) {
      this.log.info(fields, 'bootstrap peer not reachable yet; retrying with backoff')
    } else if (!t.warned && now - t.unreachableSince >= this.warnAfterMs) {
      t.warned = true
      this.log.warn({ ...fields, unreachableForMs: now - t.unreachableSince }, 'bootstrap peer still unreachable; still retrying')
    }
  }

  private async dial (t: Target): Promise<void> {
    const resolved = await resolveDialAddrs([...t.configured, ...t.learned], this.lookup)
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.dialTimeoutMs)])
    await this.host.dial(resolved, { signal })
  }

  private connected (t: Target): boolean {
    return this.host.getConnections(t.peerId).length > 0
  }

  private newTarget (id: string, configured: Multiaddr[], learned: Multiaddr[], bootstrap: boolean): Target {
    return {
      peerId: peerIdFromString(id),
      configured,
      learned,
      bootstrap,
      backoff: new Backoff(this.backoffInit),
      nextAttemptAt: 0,
      dialing: false,
      failures: 0,
      lastError: null,
      unreachableSince: null,
      warned: false,
      lastSeenAt: this.now(),
      announced: null,
      quietUntil: 0
    }
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const t = this.targets.get(evt.detail.toString())
    if (t === undefined) return
    // The peer may be restarting: retry soon, then back off again from the minimum.
    const now = this.now()
    t.backoff.reset()
    t.nextAttemptAt = now + backoffDelay(1, this.backoffInit)
    const id = evt.detail.toString()
    const trimmedUs = this.host.getConnections().length > 0 && this.isLive(id) && this.neighboursOf(id).length > this.maxPeers
    t.quietUntil = trimmedUs ? now + this.redialQuietMs : 0
    this.log.debug({ peer: id, quietForMs: trimmedUs ? this.redialQuietMs : 0 }, 'disconnected; will redial')
  }
}
