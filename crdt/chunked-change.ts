import { setImmediate as yieldToLoop } from 'node:timers/promises'
import type { DocStore } from './doc-store.js'
import type { FleetDoc } from './schema.js'

/**
 * A large write (a plan import of 10,000-100,000 tasks) as a sequence of Automerge changes of a
 * bounded size, with the event loop free between them: one change of the whole plan blocked the
 * node for seconds (issue 11: HTTP, gossip, leases and heartbeats all waited).
 *
 * Each step applies items until a time budget is spent (at least one item, at most maxItems), so
 * a step blocks for about budgetMs whatever the machine's speed. `finish` runs in the last change
 * only: a caller writes there the marker that says the whole write is done (the plan's digest),
 * so a write that fails half-way is never shown as finished; its items are idempotent upserts,
 * and doing the write again completes it.
 */

/** Time one step may spend applying items, before its commit (ms). */
export const DEFAULT_CHUNK_BUDGET_MS = 20
/** Most items per change, however fast they go. */
export const DEFAULT_CHUNK_MAX_ITEMS = 2000

export interface ChunkedChangeInit<T> {
  store: DocStore
  items: readonly T[]
  /** Writes one item; runs inside a change. */
  apply: (d: FleetDoc, item: T) => void
  /** Runs once before each change (outside it): e.g. read the current view for re-checks. */
  beforeStep?: () => void
  /** Writes the completion marker, in the last change. */
  finish?: (d: FleetDoc) => void
  /** Change message (a step's index is appended). */
  message: string
  /** Default DEFAULT_CHUNK_BUDGET_MS. */
  budgetMs?: number
  /** Default DEFAULT_CHUNK_MAX_ITEMS. */
  maxItems?: number
  /** Clock for the budget (default performance.now). */
  now?: () => number
}

/**
 * Applies every item in as many changes as the budget asks for; resolves once all are on disk.
 * Rejects (leaving the changes already made, without the marker) if the store refuses writes.
 * Returns how many changes were made.
 */
export async function changeInChunks<T> (init: ChunkedChangeInit<T>): Promise<number> {
  const { store, items } = init
  const budget = init.budgetMs ?? DEFAULT_CHUNK_BUDGET_MS
  const maxItems = init.maxItems ?? DEFAULT_CHUNK_MAX_ITEMS
  const now = init.now ?? (() => performance.now())
  let next = 0
  let steps = 0
  // One snapshot after the whole write, not one per few changes while it grows.
  const release = store.holdCompaction()
  try {
    do {
      const health = store.storageHealth()
      if (health.failure !== null) throw health.failure
      init.beforeStep?.()
      store.changeNow((d) => {
        const t0 = now()
        const end = Math.min(items.length, next + maxItems)
        while (next < end) {
          init.apply(d, items[next] as T)
          next++
          if (now() - t0 >= budget) break
        }
        if (next >= items.length) init.finish?.(d)
      }, `${init.message} (${++steps})`)
      // Between changes: HTTP, gossip and timers run (setImmediate runs after pending I/O).
      if (next < items.length) await yieldToLoop()
    } while (next < items.length)
  } finally {
    release()
  }
  await store.whenPersisted()
  return steps
}
