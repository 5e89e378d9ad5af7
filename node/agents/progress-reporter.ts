import type { Logger } from '../logger.js'
import { isFencedError, type AgentCoordinator } from './coordinator.js'

/**
 * Coalesces progress updates: at most one write per interval and one in flight, the latest value
 * wins. A FencedError from the coordinator marks the assignment fenced and calls onFenced.
 */
export class ProgressReporter {
  fenced = false
  private pending: { percent: number, message: string | null } | null = null
  private inFlight: Promise<void> | null = null
  private lastSentAt = 0
  private timer: NodeJS.Timeout | null = null
  private closed = false

  constructor (
    private readonly coordinator: AgentCoordinator,
    private readonly assignmentId: string,
    private readonly intervalMs: number,
    private readonly log: Logger,
    private readonly onFenced: () => void
  ) {}

  report (percent: number, message: string | null): void {
    if (this.closed || this.fenced) return
    this.pending = { percent, message }
    this.schedule()
  }

  /** Sends what is pending now and waits for it. */
  async flush (): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    await this.inFlight
    if (this.pending !== null) await this.send()
  }

  close (): void {
    this.closed = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  private schedule (): void {
    if (this.timer !== null || this.inFlight !== null) return
    const wait = Math.max(0, this.lastSentAt + this.intervalMs - Date.now())
    this.timer = setTimeout(() => {
      this.timer = null
      this.send().catch(() => undefined)
    }, wait)
  }

  private async send (): Promise<void> {
    const p = this.pending
    if (p === null || this.fenced) return
    this.pending = null
    this.lastSentAt = Date.now()
    const run = (async () => {
      try {
        await this.coordinator.progress(this.assignmentId, p.percent, p.message)
      } catch (err) {
        if (isFencedError(err)) {
          this.fenced = true
          this.onFenced()
        } else {
          this.log.warn({ err }, 'progress update failed')
        }
      }
    })()
    this.inFlight = run
    await run
    this.inFlight = null
    if (this.pending !== null && !this.closed) this.schedule()
  }
}
