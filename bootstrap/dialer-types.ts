import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { DialerConnection } from './trim.js'

/** The part of libp2p the dialer uses (a fake in unit tests). */
export interface DialerHost {
  readonly peerId: PeerId
  getConnections: (peerId?: PeerId) => DialerConnection[]
  dial: (addrs: Multiaddr[], options: { signal: AbortSignal }) => Promise<unknown>
  /** Closes every connection to the peer (an inbound one over the cap). */
  hangUp: (peer: PeerId) => Promise<void>
  addEventListener: (type: 'peer:disconnect', listener: (evt: CustomEvent<PeerId>) => void) => void
  removeEventListener: (type: 'peer:disconnect', listener: (evt: CustomEvent<PeerId>) => void) => void
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
