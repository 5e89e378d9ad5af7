import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Log } from '../crdt/log.js'
import { chooseTrims, peersOf, type DialerConnection } from './trim.js'

export interface InboundTrimmerInit {
  selfId: string
  getConnections: () => DialerConnection[]
  hangUp: (peer: PeerId) => Promise<void>
  log: Log
  /** Connected peers above this are trimmed (maxPeers + inbound slack). */
  cap: number
  graceMs: number
  isBootstrap: (peer: string) => boolean
  /** The live neighbours a peer last announced. */
  neighboursOf: (peer: string) => readonly string[]
}

/**
 * The I/O around chooseTrims (bootstrap/trim.ts): hangs up on the peers it picks and remembers
 * them until the hang-up finished, so the next round neither counts nor picks them again.
 */
export class InboundTrimmer {
  private readonly closing = new Set<string>()
  /** Peers hung up on since start (for status and tests). */
  trimmed = 0

  constructor (private readonly init: InboundTrimmerInit) {}

  /** One round; returns how many peers stay connected (the ones being closed left out). */
  run (now: number): number {
    const { init } = this
    const peers = peersOf(init.getConnections(), this.closing, init.isBootstrap, init.neighboursOf)
    if (peers.length <= init.cap) return peers.length
    const chosen = chooseTrims({ selfId: init.selfId, peers, cap: init.cap, now, graceMs: init.graceMs, neighboursOf: init.neighboursOf })
    for (const id of chosen) {
      this.closing.add(id)
      this.trimmed++
      init.log.debug({ peer: id, connected: peers.length, cap: init.cap }, 'closing an inbound connection over the cap')
      init.hangUp(peerIdFromString(id)).catch((err: unknown) => {
        init.log.debug({ err, peer: id }, 'closing a connection over the cap failed')
      }).finally(() => { this.closing.delete(id) })
    }
    return peers.length - chosen.length
  }
}
