/** A value derived from the document, recomputed only when the heads moved (and not too often). */
export interface CachedByHeadsInit<T> {
  /** The replica's current heads (cheap). */
  heads: () => string[]
  compute: () => T
  /**
   * Even when the heads moved, reuse a value younger than this (default 0: always recompute on a
   * new head). For costly values under a steady write load, so a scrape never pays every time.
   */
  maxAgeMs?: number
  now?: () => number
}

/** Returns a getter that recomputes `compute` only when needed (see CachedByHeadsInit). */
export function cachedByHeads<T> (init: CachedByHeadsInit<T>): () => T {
  const now = init.now ?? Date.now
  const maxAgeMs = init.maxAgeMs ?? 0
  let key: string | null = null
  let at = 0
  let value: T
  return () => {
    const k = init.heads().join(',')
    if (key === null || (k !== key && now() - at >= maxAgeMs)) {
      value = init.compute()
      key = k
      at = now()
    }
    return value
  }
}
