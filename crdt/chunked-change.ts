import { setImmediate as yieldToLoop } from 'node:timers/promises'
import type { DocStore } from './doc-store.js'
import type { FleetDoc } from './schema.js'

/**
 * A large write (a plan import of 10,000-100,000 tasks) as a sequence of Automerge changes of a
 * bounded size, with the event loop free between them: one change of the whole plan blocked the
 * node for seconds (issue 11: HTTP, gossip, leases and heartbeats all waited).
 *
 * Each step applies at least minItems, then more until a time budget is spent (at most maxItems);
 * the first DEFAULT_CHUNK_WARMUP_ITEMS go by the budget alone. `finish` runs in the last change
 * only: a caller writes there the marker that says the whole write is done (the plan's digest), so
 * a write that fails half-way is never shown as finished; its items are idempotent upserts, and
 * doing the write again completes it.
 */

/**
 * Time one step may spend applying items after its first minItems, before its commit (ms). The
 * commit, the patches to Automerge's JS view and the projection's update roughly double it: a
 * step of a 10k import blocks the loop ~60-70 ms on the 2-core VM (~120 ms at 50).
 */
export const DEFAULT_CHUNK_BUDGET_MS = 25
/**
 * The first this many items of a write go in steps bounded by the budget alone (minItems not
 * applied): the first few hundred items cost 3-4x the later ones (Automerge's wasm and the write
 * path not yet optimized by V8), so a first step of minItems blocked the loop 230-280 ms at 10k,
 * twice any later step. A fixed count, so a write into a large document adds a few changes at most;
 * a write of at most minItems items is still one change.
 */
export const DEFAULT_CHUNK_WARMUP_ITEMS = 1000
/**
 * Fewest items per change: every change has a fixed cost on every node (gossip signing and
 * relaying, the peers' apply, events, a disk write: ~10 ms of CPU per node on the 2-core VM), so
 * changes of a few dozen tasks made a 10k import 3-4x slower over HTTP and on 3 nodes.
 */
export const DEFAULT_CHUNK_MIN_ITEMS = 500
/** Most items per change, however fast they go. */
export const DEFAULT_CHUNK_MAX_ITEMS = 2000
/**
 * Part of a change's cost grows with the collection it writes into: Automerge's JS view of the
 * document copies every map a change touches, and a plan's tasks spread over all 128 buckets, so
 * each change of an import into 100,000 tasks copies ~100,000 entries, on the writer and on every
 * node that applies it (~250 ms per change at 100k on the 2-core VM). At least size / this many
 * items per change keeps that copying at most this many times the collection, whatever its size.
 */
export const DEFAULT_CHUNK_SIZE_DIVISOR = 50

/**
 * The fewest items per change for a write into a collection that will hold `size` entries:
 * DEFAULT_CHUNK_MIN_ITEMS, raised to size / DEFAULT_CHUNK_SIZE_DIVISOR, at most DEFAULT_CHUNK_MAX_ITEMS.
 */
export function chunkMinItems (size: number): number {
  return Math.min(DEFAULT_CHUNK_MAX_ITEMS, Math.max(DEFAULT_CHUNK_MIN_ITEMS, Math.ceil(size / DEFAULT_CHUNK_SIZE_DIVISOR)))
}

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
  /** Default DEFAULT_CHUNK_MIN_ITEMS. */
  minItems?: number
  /** Default DEFAULT_CHUNK_MAX_ITEMS. */
  maxItems?: number
  /** Default DEFAULT_CHUNK_WARMUP_ITEMS (0: minItems from the first step). */
  warmupItems?: number
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
  const minItems = Math.min(init.minItems ?? DEFAULT_CHUNK_MIN_ITEMS, maxItems)
  const now = init.now ?? (() => performance.now())
  // A write that fits in one step stays one change (a small plan is never split, however slow the machine).
  const warmup = items.length > minItems ? init.warmupItems ?? DEFAULT_CHUNK_WARMUP_ITEMS : 0
  let next = 0
  let steps = 0
  // One snapshot after the whole write, not one per few changes while it grows.
  const release = store.holdCompaction()
  try {
    // Each step starts from a setImmediate: a step begun in another phase of the loop (after an
    // I/O callback) would run on into the next step in the same turn, timers and I/O skipped.
    await yieldToLoop()
    do {
      const health = store.storageHealth()
      if (health.failure !== null) throw health.failure
      init.beforeStep?.()
      store.changeNow((d) => {
        const t0 = now()
        const end = Math.min(items.length, next + maxItems)
        const least = next + (next < warmup ? 1 : minItems)
        while (next < end) {
          init.apply(d, items[next] as T)
          next++
          if (next >= least && now() - t0 >= budget) break
        }
        if (next >= items.length) init.finish?.(d)
      }, `${init.message} (${++steps})`)
      // Between changes: HTTP, gossip and timers run (setImmediate runs after pending I/O).
      if (next < items.length) await yieldToLoop()
    } while (next < items.length)
    // On disk before the hold ends, so the compaction it starts covers the whole write.
    await store.whenPersisted()
  } finally {
    release()
  }
  return steps
}
