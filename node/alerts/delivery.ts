import type { Logger } from '../logger.js'
import type { Receiver } from './receivers.js'
import { backoffDelay } from '../../bootstrap/backoff.js'

/** One POST may take this long; then it counts as failed and is retried. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000
/** First retry after this long, doubling per failure (with jitter), capped at DEFAULT_RETRY_MAX_MS. */
export const DEFAULT_RETRY_BASE_MS = 1000
export const DEFAULT_RETRY_MAX_MS = 5 * 60_000
/** A notification is retried for this long after its first attempt, then given up. */
export const DEFAULT_RETRY_WINDOW_MS = 2 * 60 * 60_000
/** Notifications waiting per receiver; beyond it the oldest is dropped (memory stays bounded). */
export const DEFAULT_MAX_PENDING = 1000

export type DeliveryOutcome = 'delivered' | 'gave-up' | 'dropped'

export interface Notification {
  fingerprint: string
  /** Which transition (see transitionKey): a newer one replaces an older one still waiting. */
  transition: string
  body: unknown
}

export interface AlertDeliveryInit {
  receivers: readonly Receiver[]
  logger: Logger
  /** Called once per notification and receiver with how it ended. */
  onResult: (receiverId: string, n: Notification, outcome: DeliveryOutcome) => void
  timeoutMs?: number
  retryBaseMs?: number
  retryMaxMs?: number
  retryWindowMs?: number
  maxPending?: number
  /** For tests. */
  now?: () => number
  random?: () => number
}

interface Pending {
  n: Notification
  firstAt: number
  nextAt: number
  attempts: number
}

export interface DeliveryStats { delivered: number, failedAttempts: number, gaveUp: number, dropped: number }

/**
 * Sends notifications to each receiver on its own lane: one request at a time per receiver (so a
 * receiver sees an alert's transitions in order), retried with exponential backoff while it fails
 * or times out. Nothing waits on it: enqueue returns at once and lanes run on timers. Memory is
 * bounded: at most one waiting notification per alert and receiver (a newer transition replaces an
 * older one not yet sent) and at most maxPending per receiver.
 */
export class AlertDelivery {
  private readonly lanes = new Map<string, Lane>()
  readonly stats: DeliveryStats = { delivered: 0, failedAttempts: 0, gaveUp: 0, dropped: 0 }

  constructor (private readonly init: AlertDeliveryInit) {
    for (const r of init.receivers) this.lanes.set(r.id, new Lane(r, init, this.stats))
  }

  receiverIds (): string[] {
    return [...this.lanes.keys()]
  }

  /** Queues a notification for one receiver (unknown receivers are ignored: false). */
  enqueue (receiverId: string, n: Notification): boolean {
    const lane = this.lanes.get(receiverId)
    if (lane === undefined) return false
    lane.enqueue(n)
    return true
  }

  /** Whether this transition is waiting or being sent to the receiver. */
  has (receiverId: string, fingerprint: string, transition: string): boolean {
    return this.lanes.get(receiverId)?.has(fingerprint, transition) ?? false
  }

  pending (): number {
    let n = 0
    for (const l of this.lanes.values()) n += l.size()
    return n
  }

  stop (): void {
    for (const l of this.lanes.values()) l.stop()
  }
}

class Lane {
  private readonly waiting = new Map<string, Pending>()
  private sending: Pending | null = null
  private timer: NodeJS.Timeout | null = null
  private stopped = false
  private readonly now: () => number
  private readonly random: () => number
  private readonly abort = new AbortController()

  constructor (private readonly r: Receiver, private readonly init: AlertDeliveryInit, private readonly stats: DeliveryStats) {
    this.now = init.now ?? Date.now
    this.random = init.random ?? Math.random
  }

  size (): number {
    return this.waiting.size
  }

  has (fp: string, transition: string): boolean {
    return this.waiting.get(fp)?.n.transition === transition
  }

  enqueue (n: Notification): void {
    if (this.stopped) return
    const old = this.waiting.get(n.fingerprint)
    if (old?.n.transition === n.transition) return
    if (old !== undefined && old !== this.sending) this.finish(old, 'dropped')
    const max = this.init.maxPending ?? DEFAULT_MAX_PENDING
    if (old === undefined && this.waiting.size >= max) {
      // Oldest first out: Map keeps insertion order.
      const oldest = [...this.waiting.values()].find(p => p !== this.sending)
      if (oldest !== undefined) {
        this.waiting.delete(oldest.n.fingerprint)
        this.finish(oldest, 'dropped')
      }
    }
    const now = this.now()
    this.waiting.delete(n.fingerprint)
    this.waiting.set(n.fingerprint, { n, firstAt: now, nextAt: now, attempts: 0 })
    this.pump()
  }

  stop (): void {
    this.stopped = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.abort.abort()
  }

  private finish (p: Pending, outcome: DeliveryOutcome): void {
    if (outcome === 'delivered') this.stats.delivered++
    else if (outcome === 'gave-up') this.stats.gaveUp++
    else this.stats.dropped++
    if (outcome !== 'delivered') this.init.logger.warn({ receiver: this.r.display, fingerprint: p.n.fingerprint, transition: p.n.transition, attempts: p.attempts, outcome }, 'alert notification not delivered')
    this.init.onResult(this.r.id, p.n, outcome)
  }

  /** Sends the notification due first, or sleeps until one is due. */
  private pump (): void {
    if (this.stopped || this.sending !== null) return
    if (this.timer !== null) { clearTimeout(this.timer); this.timer = null }
    let next: Pending | null = null
    for (const p of this.waiting.values()) if (next === null || p.nextAt < next.nextAt) next = p
    if (next === null) return
    const wait = next.nextAt - this.now()
    if (wait > 0) {
      this.timer = setTimeout(() => { this.timer = null; this.pump() }, wait)
      this.timer.unref()
      return
    }
    const p = next
    this.sending = p
    this.send(p).then((ok) => {
      this.sending = null
      if (this.stopped) return
      const current = this.waiting.get(p.n.fingerprint)
      if (ok) {
        if (current === p) this.waiting.delete(p.n.fingerprint)
        this.finish(p, 'delivered')
      } else if (current === p) {
        p.attempts++
        this.stats.failedAttempts++
        const now = this.now()
        if (now - p.firstAt >= (this.init.retryWindowMs ?? DEFAULT_RETRY_WINDOW_MS)) {
          this.waiting.delete(p.n.fingerprint)
          this.finish(p, 'gave-up')
        } else {
          // Jittered (0.5x-1x) so receivers coming back are not hit by every lane at once.
          p.nextAt = now + backoffDelay(p.attempts, { baseMs: this.init.retryBaseMs ?? DEFAULT_RETRY_BASE_MS, maxMs: this.init.retryMaxMs ?? DEFAULT_RETRY_MAX_MS, random: this.random })
        }
      } else {
        // Replaced while in flight: the old transition is superseded, the new one is waiting.
        this.finish(p, 'dropped')
      }
      this.pump()
    }).catch((err: unknown) => {
      this.sending = null
      this.init.logger.error({ err }, 'alert delivery lane failed')
    })
  }

  private async send (p: Pending): Promise<boolean> {
    try {
      const res = await fetch(this.r.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'fleet-alerts' },
        body: JSON.stringify(p.n.body),
        signal: AbortSignal.any([AbortSignal.timeout(this.init.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS), this.abort.signal])
      })
      // Drain the body so the connection can be reused.
      await res.arrayBuffer().catch(() => undefined)
      if (res.ok) return true
      this.init.logger.warn({ receiver: this.r.display, status: res.status, attempt: p.attempts + 1 }, 'alert receiver refused a notification; will retry')
      return false
    } catch (err) {
      if (!this.stopped) this.init.logger.warn({ receiver: this.r.display, err: (err as Error).message, attempt: p.attempts + 1 }, 'alert receiver unreachable; will retry')
      return false
    }
  }
}
