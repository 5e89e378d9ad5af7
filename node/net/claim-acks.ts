import type { DocStore, DocChangeEvent } from '../../crdt/doc-store.js'
import { getIn } from '../../crdt/collections.js'
import { read } from '../../crdt/schema.js'

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
  /** Makes our heads known to everyone (an announcement), for claimants we hold no session with. */
  broadcast: () => void
  /** Which peers must promptly hear our heads after this remote change (default: claimantsOf). */
  ackTo?: (evt: DocChangeEvent) => string[]
  ackDelayMs?: number
}

/**
 * Acknowledgements for the settle rule: after a remote change to claims, the claiming nodes get
 * our heads directly over their sync sessions, so a claim costs each other node one message, not
 * one broadcast delivered to every node. A short delay gathers a burst into one ack per claimant.
 */
export class ClaimAcks {
  private readonly init: ClaimAcksInit
  private readonly ackTo: (evt: DocChangeEvent) => string[]
  private readonly delayMs: number
  private readonly targets = new Set<string>()
  private timer: NodeJS.Timeout | null = null

  constructor (init: ClaimAcksInit) {
    this.init = init
    this.ackTo = init.ackTo ?? ((evt) => claimantsOf(init.store, init.selfId, evt))
    this.delayMs = init.ackDelayMs ?? DEFAULT_ACK_DELAY_MS
  }

  start (): void {
    this.init.store.on('change', this.onStoreChange)
  }

  stop (): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.targets.clear()
    this.init.store.off('change', this.onStoreChange)
  }

  private readonly onStoreChange = (evt: DocChangeEvent): void => {
    if (evt.origin === 'local') return
    for (const peer of this.ackTo(evt)) this.targets.add(peer)
    if (this.targets.size === 0 || this.timer !== null) return
    this.timer = setTimeout(() => {
      this.timer = null
      this.send()
    }, this.delayMs)
  }

  private send (): void {
    const heads = this.init.store.heads()
    let unreachable = false
    for (const peer of this.targets) if (!this.init.sendHeads(peer, heads)) unreachable = true
    this.targets.clear()
    if (unreachable) this.init.broadcast()
  }
}
