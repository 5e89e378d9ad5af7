import * as A from '@automerge/automerge'
import type { DocStore } from '../doc-store.js'
import { decodeSyncFrame, encodeSyncFrame, WireFrameError, type SwimFrame, type SyncFrame } from '../wire.js'

export interface SyncSessionInit {
  store: DocStore
  /** Sends one frame to the peer, in order. */
  send: (frame: Uint8Array) => void
  /** The peer told us its heads directly (an acknowledgement; see sendHeads). */
  onHeads?: (heads: string[]) => void
  /** A SWIM frame from the peer (probes and member lists ride the same stream). */
  onSwim?: (frame: SwimFrame) => void
  /** Every frame sent, and every frame received once decoded (for counting). */
  onFrame?: (direction: 'in' | 'out', frame: SyncFrame) => void
}

export interface SyncSessionStats {
  messagesIn: number
  messagesOut: number
  rounds: number
  rejected: number
}

/**
 * The Automerge sync protocol with one peer over an in-order, bidirectional channel. It is
 * transport-agnostic: the network layer feeds received frames in and sends what comes out.
 * Either side may ask for a reset (both start over from a fresh sync state), which is how a
 * replica that saw the peer announce heads it lacks gets a full reconciliation.
 */
export class SyncSession {
  readonly stats: SyncSessionStats = { messagesIn: 0, messagesOut: 0, rounds: 0, rejected: 0 }
  private state: A.SyncState = A.initSyncState()
  private readonly store: DocStore
  private readonly sendFrame: (frame: Uint8Array) => void
  private readonly onHeads: (heads: string[]) => void
  private readonly onSwim: (frame: SwimFrame) => void
  private readonly onFrame: (direction: 'in' | 'out', frame: SyncFrame) => void
  private closed = false

  constructor (init: SyncSessionInit) {
    this.store = init.store
    this.sendFrame = init.send
    this.onHeads = init.onHeads ?? (() => {})
    this.onSwim = init.onSwim ?? (() => {})
    this.onFrame = init.onFrame ?? (() => {})
  }

  private out (frame: SyncFrame): void {
    this.onFrame('out', frame)
    this.sendFrame(encodeSyncFrame(frame))
  }

  /** Sends a SWIM frame, in order with the sync messages already sent. */
  sendSwim (frame: SwimFrame): void {
    if (this.closed) return
    this.out({ type: 'swim', frame })
  }

  /** Tells the peer our heads, in order with the sync messages already sent. */
  sendHeads (heads: string[]): void {
    if (this.closed) return
    this.out({ type: 'heads', heads })
  }

  /** Sends our next sync message, if the protocol has anything to say. */
  pump (): void {
    if (this.closed) return
    const [next, message] = this.store.generateSyncMessage(this.state)
    this.state = next
    if (message === null) return
    this.stats.messagesOut++
    this.out({ type: 'sync', message })
  }

  /** Starts a new round from scratch on both sides. */
  requestReset (): void {
    if (this.closed) return
    this.stats.rounds++
    this.state = A.initSyncState()
    this.out({ type: 'reset' })
    this.pump()
  }

  /**
   * Handles one received frame. A malformed frame throws WireFrameError and leaves the
   * document untouched; the session resets its state so the next round starts clean.
   */
  receive (bytes: Uint8Array): void {
    if (this.closed) return
    const frame = decodeSyncFrame(bytes)
    this.onFrame('in', frame)
    if (frame.type === 'heads') {
      this.onHeads(frame.heads)
      return
    }
    if (frame.type === 'swim') {
      this.onSwim(frame.frame)
      return
    }
    if (frame.type === 'reset') {
      this.stats.rounds++
      this.state = A.initSyncState()
      this.pump()
      return
    }
    this.stats.messagesIn++
    try {
      this.state = this.store.receiveSyncMessage(this.state, frame.message)
      // Inside the try: a message can parse yet leave a state Automerge cannot use (a zero-size
      // bloom filter makes generateSyncMessage panic), which must not stick to the session.
      this.pump()
    } catch (err) {
      this.stats.rejected++
      this.state = A.initSyncState()
      throw new WireFrameError(`sync message rejected: ${(err as Error).message}`)
    }
  }

  close (): void {
    this.closed = true
  }
}
