import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Log } from '../crdt/log.js'
import { Backoff, backoffDelay, type BackoffInit } from './backoff.js'
import { DEFAULT_MAX_PEERS, groupByPeer, parseBootstrapAddr, type BootstrapPeer } from './peers.js'

export { DEFAULT_MAX_PEERS } from './peers.js'
import { DnsResolveError, resolveDialAddr, type LookupFn, systemLookup } from './resolve.js'

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

/** The part of libp2p the dialer uses (a fake in unit tests). */
export interface DialerHost {
  readonly peerId: PeerId
  getConnections: (peerId?: PeerId) => unknown[]
  dial: (addrs: Multiaddr[], options: { signal: AbortSignal }) => Promise<unknown>
  addEventListener: (type: 'peer:disconnect', listener: (evt: CustomEvent<PeerId>) => void) => void
  removeEventListener: (type: 'peer:disconnect', listener: (evt: CustomEvent<PeerId>) => void) => void
}

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
  /**
   * Connections this node dials up to, bootstrap peers included (default DEFAULT_MAX_PEERS): a
   * learned peer is dialed only while fewer are open. Bootstrap peers are always kept.
   */
  maxPeers?: number
  /** Name resolution for /dns addresses; default the system resolver. */
  lookup?: LookupFn
  /** For tests: the clock and the jitter source. */
  now?: () => number
  random?: () => number
}

/** What the dialer knows about one peer it keeps a connection to. */
export interface DialTargetStatus {
  peerId: string
  /** From the bootstrap list (kept forever) or learned from announcements (forgotten when silent). */
  bootstrap: boolean
  addrs: string[]
  connected: boolean
  /** A dial is in flight. */
  dialing: boolean
  /** Failed dials since the last success. */
  failures: number
  lastError: string | null
  /** Unreachable (every dial failed) since then; null while connected or before the first failure. */
  retryingSince: number | null
  /** When the next dial is due (if not connected). */
  nextAttemptAt: number
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
}

const LOOPBACK = /^\/(ip4\/127\.|ip6\/::1\/)/

/**
 * Keeps this node connected: dials bootstrap peers at once (no startup delay) and keeps
 * redialing them with exponential backoff and jitter while they are unreachable, and again
 * as soon as a connection drops (a peer restarting). Peers learned from other members'
 * presence announcements (peer exchange) are candidates: while fewer than maxPeers connections
 * are open (inbound ones count), random candidates are dialed, so each node holds a bounded,
 * random set of neighbours (not a full mesh), a dropped neighbour is replaced by another, and
 * the overlay stays connected when a bootstrap node dies.
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
   * One round: forget silent learned peers, start the dials that are due. Runs on a timer.
   * Bootstrap peers are always dialed; learned ones only while open connections plus dials in
   * flight stay under maxPeers, in random order (so neighbours are a random sample of members).
   */
  check (): void {
    if (this.abort.signal.aborted) return
    const now = this.now()
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
    let room = this.maxPeers - this.openCount()
    for (const [id, t] of this.shuffled(due)) {
      if (!t.bootstrap) {
        if (room <= 0) continue
        room--
      }
      this.start1(id, t)
    }
  }

  /** Open connections plus dials in flight: what counts against maxPeers. */
  private openCount (): number {
    let dialing = 0
    for (const t of this.targets.values()) if (t.dialing) dialing++
    return this.host.getConnections().length + dialing
  }

  /** Bootstrap targets first (always dialed), then learned ones in random order. */
  private shuffled (due: Array<[string, Target]>): Array<[string, Target]> {
    const learned = due.filter(([, t]) => !t.bootstrap)
    for (let i = learned.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1)) % (i + 1)
      const x = learned[i] as [string, Target]
      learned[i] = learned[j] as [string, Target]
      learned[j] = x
    }
    return [...due.filter(([, t]) => t.bootstrap), ...learned]
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
    const resolved: Multiaddr[] = []
    let resolveError: unknown = null
    for (const addr of [...t.configured, ...t.learned]) {
      try {
        for (const a of await resolveDialAddr(addr, this.lookup)) {
          if (!resolved.some(r => r.equals(a))) resolved.push(a)
        }
      } catch (err) {
        resolveError = err
      }
    }
    if (resolved.length === 0) throw resolveError ?? new Error('no address to dial')
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
      announced: null
    }
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const t = this.targets.get(evt.detail.toString())
    if (t === undefined) return
    // The peer may be restarting: retry soon, then back off again from the minimum.
    t.backoff.reset()
    t.nextAttemptAt = this.now() + backoffDelay(1, this.backoffInit)
    this.log.debug({ peer: evt.detail.toString() }, 'disconnected; will redial')
  }
}

/** The announced addresses worth dialing, each ending in the announcer's /p2p/ id. */
export function learnableAddrs (peerIdText: string, addrs: string[]): Multiaddr[] {
  const out: Multiaddr[] = []
  for (const a of addrs) {
    const text = a.includes('/p2p/') ? a : `${a}/p2p/${peerIdText}`
    try {
      const p = parseBootstrapAddr(text)
      if (p.peerId === peerIdText && !out.some(o => o.equals(p.addr))) out.push(p.addr)
    } catch { /* wildcard, non-TCP or malformed: not dialable */ }
  }
  const remote = out.filter(a => !LOOPBACK.test(a.toString()))
  return remote.length > 0 ? remote : out
}

function sameAddrs (a: Multiaddr[], b: Multiaddr[]): boolean {
  return a.length === b.length && a.every(x => b.some(y => y.equals(x)))
}
