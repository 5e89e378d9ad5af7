/** First retry delay after an error. */
export const DEFAULT_BACKOFF_BASE_MS = 1000
/** Retry delays never exceed this. */
export const DEFAULT_BACKOFF_MAX_MS = 60_000

export interface BackoffInit {
  /** Default DEFAULT_BACKOFF_BASE_MS. */
  baseMs?: number
  /** Default DEFAULT_BACKOFF_MAX_MS. */
  maxMs?: number
  /** Source of jitter in [0, 1); default Math.random (tests pass a fixed one). */
  random?: () => number
}

/**
 * Delay before retry number `failures` (1 = after the first error): exponential with "equal
 * jitter", uniformly in [cap/2, cap) where cap = min(max, base * 2^(failures-1)). Half the delay
 * is guaranteed so a failing dependency is not hammered; the random half keeps agents that
 * failed together from retrying in lockstep.
 */
export function backoffDelay (failures: number, init: BackoffInit = {}): number {
  const base = init.baseMs ?? DEFAULT_BACKOFF_BASE_MS
  const max = init.maxMs ?? DEFAULT_BACKOFF_MAX_MS
  const random = init.random ?? Math.random
  const n = Math.max(1, Math.floor(failures))
  // 2^30 already exceeds any sane max; the cap keeps the power finite.
  const cap = Math.min(max, base * 2 ** Math.min(n - 1, 30))
  return Math.round(cap / 2 + random() * (cap / 2))
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
