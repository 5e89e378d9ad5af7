import { createHistogram, type RecordableHistogram } from 'node:perf_hooks'
import type { Logger } from '../logger.js'

/** How often the watchdog's timer is due. */
export const DEFAULT_WATCHDOG_INTERVAL_MS = 100
/** A timer this late means the event loop was blocked: heartbeats, sync and HTTP all waited. */
export const DEFAULT_LAG_WARN_MS = 200
/** At most one warning this often; stalls in between are counted and reported with the next one. */
export const DEFAULT_WARN_EVERY_MS = 10_000

export interface EventLoopWatchdogInit {
  logger: Logger
  /** Default DEFAULT_WATCHDOG_INTERVAL_MS. */
  intervalMs?: number
  /** Default DEFAULT_LAG_WARN_MS. */
  warnAboveMs?: number
  /** Default DEFAULT_WARN_EVERY_MS. */
  warnEveryMs?: number
  /** Called for every stall above warnAboveMs, with how late the timer fired (metrics). Must not throw. */
  onStall?: (lagMs: number) => void
  /** Milliseconds, for tests (default performance.now). */
  now?: () => number
}

/**
 * Notices when the event loop was blocked: a timer due every intervalMs that fires more than
 * warnAboveMs late is a stall (a hot loop, a huge synchronous job). The warning names how long
 * the loop was held, so a node that stopped answering says why once it answers again; the
 * process metrics show the lag continuously: every check's lateness goes into `delays`, which
 * fleet_nodejs_eventloop_lag_{min,max,p50,...}_seconds read (metrics/event-loop-delay.ts). The
 * timer is unref'd: it never keeps a process alive.
 */
export class EventLoopWatchdog {
  private readonly log: Logger
  private readonly intervalMs: number
  private readonly warnAboveMs: number
  private readonly warnEveryMs: number
  private readonly onStall: ((lagMs: number) => void) | undefined
  private readonly now: () => number
  private timer: NodeJS.Timeout | null = null
  private dueAt = 0
  private lastWarnAt = -Infinity
  private unreported = { count: 0, maxMs: 0 }
  /** Stalls seen since start, and the longest. */
  readonly stats = { stalls: 0, maxLagMs: 0 }
  /**
   * How late each check was, in nanoseconds (at least 1: a histogram records no 0), until its
   * reader resets it. Measured against the due time, so a reset never loses a delay under way.
   */
  readonly delays: RecordableHistogram = createHistogram()

  constructor (init: EventLoopWatchdogInit) {
    this.log = init.logger
    this.intervalMs = init.intervalMs ?? DEFAULT_WATCHDOG_INTERVAL_MS
    this.warnAboveMs = init.warnAboveMs ?? DEFAULT_LAG_WARN_MS
    this.warnEveryMs = init.warnEveryMs ?? DEFAULT_WARN_EVERY_MS
    this.onStall = init.onStall
    this.now = init.now ?? (() => performance.now())
  }

  start (): void {
    if (this.timer !== null) return
    this.schedule()
  }

  stop (): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  /** One timer firing: how late it is, measured against when it was due. Public for tests. */
  check (): void {
    const lag = Math.max(0, this.now() - this.dueAt)
    this.delays.record(Math.max(1, Math.round(lag * 1e6)))
    if (lag > this.warnAboveMs) this.stall(lag)
  }

  private schedule (): void {
    this.dueAt = this.now() + this.intervalMs
    // A chain of timeouts (not setInterval): each lag is measured from its own due time.
    this.timer = setTimeout(() => {
      this.check()
      if (this.timer !== null) this.schedule()
    }, this.intervalMs)
    this.timer.unref()
  }

  private stall (lagMs: number): void {
    this.stats.stalls++
    this.stats.maxLagMs = Math.max(this.stats.maxLagMs, lagMs)
    this.onStall?.(lagMs)
    this.unreported.count++
    this.unreported.maxMs = Math.max(this.unreported.maxMs, lagMs)
    const now = this.now()
    if (now - this.lastWarnAt < this.warnEveryMs) return
    this.lastWarnAt = now
    this.log.warn({ lagMs: Math.round(lagMs), stalls: this.unreported.count, maxLagMs: Math.round(this.unreported.maxMs) }, 'event loop was blocked')
    this.unreported = { count: 0, maxMs: 0 }
  }
}
