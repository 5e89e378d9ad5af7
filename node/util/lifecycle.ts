import type { Log } from '../../crdt/log.js'

/** A part of a process that is started and stopped: a server, a loop, a store. */
export interface StartablePart {
  /** For logs: which part failed to stop. */
  name: string
  /** Omitted for parts that are running once created (an opened store). */
  start?: () => void | Promise<void>
  stop: () => void | Promise<void>
}

/**
 * An ordered list of parts: started in order, stopped in reverse, so nothing is stopped while a
 * part started after it (and so maybe using it) still runs. If a start fails, the parts already
 * started are stopped before the error goes on: a failed start leaves nothing running or open.
 */
export class Lifecycle {
  private readonly started: StartablePart[] = []

  constructor (private readonly log: Log) {}

  /** Starts the parts one after another; on a failure stops everything started so far and rethrows. */
  async start (...parts: StartablePart[]): Promise<void> {
    for (const part of parts) {
      try {
        await part.start?.()
      } catch (err) {
        await this.stop().catch(() => {})
        throw err
      }
      this.started.push(part)
    }
  }

  /**
   * Stops every started part, last first. A part that fails to stop is logged and the others are
   * still stopped (an unclosed store would lose writes); the first failure is rethrown at the end.
   * A second call finds nothing left to stop.
   */
  async stop (): Promise<void> {
    let first: unknown
    let failed = false
    for (let part = this.started.pop(); part !== undefined; part = this.started.pop()) {
      try {
        await part.stop()
      } catch (err) {
        this.log.error({ err, part: part.name }, 'stopping a part failed; stopping the others anyway')
        if (!failed) first = err
        failed = true
      }
    }
    if (failed) throw first
  }
}
