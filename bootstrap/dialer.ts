import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from 'libp2p'
import type { Logger } from '../node/logger.js'
import type { BootstrapPeer } from './peers.js'

export const DEFAULT_MIN_BACKOFF_MS = 250
export const DEFAULT_MAX_BACKOFF_MS = 10_000
export const DEFAULT_CHECK_INTERVAL_MS = 250

export interface PeerDialerInit {
  libp2p: Libp2p
  logger: Logger
  /** Peers to stay connected to; a node may start before them and joins when they appear. */
  bootstrap: BootstrapPeer[]
  /** First retry delay after a failed dial; doubles (with jitter) up to maxBackoffMs. */
  minBackoffMs?: number
  maxBackoffMs?: number
}

interface Target {
  peerId: PeerId
  addrs: Multiaddr[]
  backoffMs: number
  nextAttemptAt: number
  dialing: boolean
  bootstrap: boolean
}

/**
 * Keeps this node connected: dials bootstrap peers at once (no startup delay) and keeps
 * redialing them with exponential backoff and jitter while they are unreachable; peers learned
 * from other members' announcements are dialed the same way (peer exchange), so the cluster
 * stays connected when a bootstrap node dies.
 */
export class PeerDialer {
  private readonly libp2p: Libp2p
  private readonly log: Logger
  private readonly minBackoffMs: number
  private readonly maxBackoffMs: number
  private readonly targets = new Map<string, Target>()
  private timer: NodeJS.Timeout | null = null

  constructor (init: PeerDialerInit) {
    this.libp2p = init.libp2p
    this.log = init.logger
    this.minBackoffMs = init.minBackoffMs ?? DEFAULT_MIN_BACKOFF_MS
    this.maxBackoffMs = init.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS
    for (const b of init.bootstrap) this.add(b.peerId, [b.addr], true)
  }

  start (): void {
    this.libp2p.addEventListener('peer:disconnect', this.onDisconnect)
    this.timer = setInterval(() => { this.check() }, DEFAULT_CHECK_INTERVAL_MS)
    this.check()
  }

  stop (): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    this.libp2p.removeEventListener('peer:disconnect', this.onDisconnect)
  }

  /** A member announced itself with these addresses; stay connected to it too. */
  learn (peerIdText: string, addrs: string[]): void {
    if (peerIdText === this.libp2p.peerId.toString()) return
    const parsed: Multiaddr[] = []
    for (const a of addrs) {
      try {
        const ma = multiaddr(a)
        // Wildcard and unreachable addresses are useless to dial.
        if (!a.includes('/ip4/0.0.0.0/') && !a.includes('/ip6/::/')) parsed.push(ma)
      } catch { /* a peer's malformed address is ignored */ }
    }
    if (parsed.length === 0) return
    this.add(peerIdText, parsed, false)
  }

  knownPeers (): string[] {
    return [...this.targets.keys()]
  }

  private add (peerIdText: string, addrs: Multiaddr[], bootstrap: boolean): void {
    const existing = this.targets.get(peerIdText)
    if (existing !== undefined) {
      if (!bootstrap) existing.addrs = addrs
      return
    }
    this.targets.set(peerIdText, {
      peerId: peerIdFromString(peerIdText), addrs, backoffMs: this.minBackoffMs, nextAttemptAt: 0, dialing: false, bootstrap
    })
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const t = this.targets.get(evt.detail.toString())
    if (t !== undefined) {
      t.backoffMs = this.minBackoffMs
      t.nextAttemptAt = Date.now() + this.minBackoffMs
    }
  }

  private check (): void {
    const now = Date.now()
    for (const [id, t] of this.targets) {
      if (t.dialing || now < t.nextAttemptAt) continue
      if (this.libp2p.getConnections(t.peerId).length > 0) continue
      t.dialing = true
      this.dial(t)
        .then(() => {
          t.backoffMs = this.minBackoffMs
          this.log.debug({ peer: id }, 'connected')
        })
        .catch((err: unknown) => {
          const jitter = 0.5 + Math.random()
          t.nextAttemptAt = Date.now() + t.backoffMs * jitter
          t.backoffMs = Math.min(this.maxBackoffMs, t.backoffMs * 2)
          this.log.debug({ peer: id, err: (err as Error).message, retryInMs: Math.round(t.backoffMs * jitter) }, 'dial failed')
        })
        .finally(() => { t.dialing = false })
    }
  }

  private async dial (t: Target): Promise<void> {
    await this.libp2p.peerStore.merge(t.peerId, { multiaddrs: t.addrs })
    await this.libp2p.dial(t.peerId, { signal: AbortSignal.timeout(5000) })
  }
}
