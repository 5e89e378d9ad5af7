import type { Logger } from '../logger.js'
import { isFencedError, type AgentCoordinator } from './coordinator.js'

/**
 * Coalesces progress updates: one call in flight, the latest value wins. It does not throttle by
 * time: the node throttles progress writes to the document in one place (AssignmentService,
 * settings.progressThrottleMs, DEFAULT_PROGRESS_THROTTLE_MS), whichever way the agent reaches it.
 * A FencedError from the coordinator marks the assignment fenced and calls onFenced.
 */
export class ProgressReporter {
  fenced = false
  private pending: { percent: number, message: string | null } | null = null
  private inFlight: Promise<void> | null = null
  private closed = false

  constructor (
    private readonly coordinator: AgentCoordinator,
    private readonly assignmentId: string,
    private readonly log: Logger,
    private readonly onFenced: () => void
  ) {}

  report (percent: number, message: string | null): void {
    if (this.closed || this.fenced) return
    this.pending = { percent, message }
    if (this.inFlight === null) this.send().catch(() => undefined)
  }

  /** Sends what is pending now and waits for it. */
  async flush (): Promise<void> {
    await this.inFlight
    if (this.pending !== null) await this.send()
  }

  close (): void {
    this.closed = true
  }

  /** Sends the latest pending value, then whatever arrived meanwhile, until nothing is pending. */
  private async send (): Promise<void> {
    const run = (async () => {
      for (let p = this.pending; p !== null && !this.fenced; p = this.closed ? null : this.pending) {
        this.pending = null
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
      }
    })()
    this.inFlight = run
    await run
    this.inFlight = null
  }
}
