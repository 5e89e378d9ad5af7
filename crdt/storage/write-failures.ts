import type { Log } from '../log.js'
import { StorageUnavailableError } from './errors.js'

/** After a failed disk write, retry after this long, doubling up to DEFAULT_WRITE_RETRY_MAX_MS. */
export const DEFAULT_WRITE_RETRY_MIN_MS = 100
/** Short enough that a node is writable again within seconds of space returning. */
export const DEFAULT_WRITE_RETRY_MAX_MS = 2000

/** Whether the replica can be written to disk; `failure` says why not since when. */
export interface StorageHealth {
  writable: boolean
  failure: StorageUnavailableError | null
}

export interface WriteFailuresInit {
  /** First retry delay after a failed disk write; doubles up to maxMs. */
  minMs: number
  maxMs: number
  now: () => number
  logger: Log
  /** Called when writes start failing and when they work again. */
  onChange: (failure: StorageUnavailableError | null) => void
}

/**
 * Whether the replica's disk writes work, and when to try again while they do not: the degraded
 * state of a DocStore (kept apart so the store itself stays about documents). Backoff doubles from
 * minMs to maxMs and starts over after a success.
 */
export class WriteFailures {
  failure: StorageUnavailableError | null = null
  private timer: NodeJS.Timeout | null = null
  private delayMs: number

  constructor (private readonly init: WriteFailuresInit) {
    this.delayMs = init.minMs
  }

  /** A retry is scheduled: nothing else should touch the disk before it. */
  get waiting (): boolean { return this.timer !== null }

  failed (err: unknown): StorageUnavailableError {
    const first = this.failure === null
    this.failure = StorageUnavailableError.from(err, this.failure?.since ?? this.init.now())
    if (first) {
      this.init.logger.error({ err }, 'cannot write the replica to disk; refusing writes and retrying until it works')
      this.init.onChange(this.failure)
    } else {
      this.init.logger.debug({ err: this.failure.reason }, 'disk write retry failed')
    }
    return this.failure
  }

  succeeded (): void {
    if (this.failure === null) return
    this.init.logger.info({ degradedForMs: this.init.now() - this.failure.since }, 'the replica is written to disk again; accepting writes')
    this.failure = null
    this.delayMs = this.init.minMs
    this.init.onChange(null)
  }

  /** Runs `retry` after the current backoff (once; a pending retry is kept). */
  retryLater (retry: () => void): void {
    if (this.timer !== null) return
    const delay = this.delayMs
    this.delayMs = Math.min(this.init.maxMs, this.delayMs * 2)
    this.timer = setTimeout(() => {
      this.timer = null
      retry()
    }, delay)
  }

  stop (): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }
}
