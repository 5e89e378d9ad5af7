/**
 * The one backoff of the node: every loop that retries (agents, merge leader, dialer, claim
 * settler, catch-up wait) waits through this, so none of them can spin on resolved promises.
 */

/** First retry delay after an error. */
export const DEFAULT_BACKOFF_BASE_MS = 1000
/** Retry delays never exceed this. */
export const DEFAULT_BACKOFF_MAX_MS = 60_000

export interface BackoffInit {
  /** Default DEFAULT_BACKOFF_BASE_MS. */
  baseMs?: number
  /** Default DEFAULT_BACKOFF_MAX_MS. */
  maxMs?: number
  /** Source of jitter in [0, 1]; default Math.random (tests pass a fixed one). */
  random?: () => number
}

/**
 * Delay before retry number `failures` (1 = after the first error): exponential with "equal
 * jitter", uniformly in [cap/2, cap] where cap = min(max, base * 2^(failures-1)). Half the delay
 * is guaranteed so a failing dependency is not hammered; the random half keeps callers that
 * failed together from retrying in lockstep. Never above max, never below 1 ms (a zero delay
 * would be a hot loop again).
 */
export function backoffDelay (failures: number, init: BackoffInit = {}): number {
  const base = init.baseMs ?? DEFAULT_BACKOFF_BASE_MS
  const max = init.maxMs ?? DEFAULT_BACKOFF_MAX_MS
  const random = init.random ?? Math.random
  const n = Math.max(1, Math.floor(failures))
  // 2^30 already exceeds any sane max; the cap keeps the power finite.
  const cap = Math.min(max, base * 2 ** Math.min(n - 1, 30))
  return Math.max(1, Math.round(cap / 2 + random() * (cap / 2)))
}

/** A retry counter: next() gives the delay for one more failure, reset() after a success. */
export class Backoff {
  private n = 0

  constructor (private readonly init: BackoffInit = {}) {}

  /** Failures since the last reset. */
  get failures (): number {
    return this.n
  }

  /** Counts one more failure and returns how long to wait before the next try. */
  next (): number {
    this.n++
    return backoffDelay(this.n, this.init)
  }

  reset (): void {
    this.n = 0
  }
}

/** Waits ms, or less if the signal aborts first; never rejects. */
export async function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}

/**
 * An idle wait that news can cut short (a task became available, the queue changed): callers poll
 * slowly, with backoff, yet react at once. Only idle waits should be wakeable: a backoff after
 * an error or a refusal must run its course, or a stream of changes would turn it into a spin.
 */
export class Wakeable {
  private wake: AbortController | null = null

  /** Waits ms, until poke(), or until the signal aborts, whichever comes first. */
  async wait (ms: number, signal?: AbortSignal): Promise<void> {
    const wake = new AbortController()
    this.wake = wake
    const onStop = (): void => wake.abort()
    signal?.addEventListener('abort', onStop, { once: true })
    if (signal?.aborted === true) wake.abort()
    await sleep(ms, wake.signal)
    signal?.removeEventListener('abort', onStop)
    if (this.wake === wake) this.wake = null
  }

  /** Ends the wait in progress, if any; a poke while not waiting is dropped. */
  poke (): void {
    this.wake?.abort()
  }
}
