import type { Log } from '../log.js'
import type { ChunkStore } from './chunk-store.js'
import { Compactor } from './compact.js'

export const DEFAULT_COMPACT_CHUNKS = 512
export const DEFAULT_COMPACT_RATIO = 1
export const DEFAULT_COMPACT_QUIET_MS = 500

export interface CompactionScheduleInit {
  storage: ChunkStore
  logger: Log
  /**
   * Compact into a snapshot once this many chunks accumulated (default DEFAULT_COMPACT_CHUNKS)
   * or once the chunks outweigh the snapshot by DEFAULT_COMPACT_RATIO: load time stays
   * proportional to the document, not to its history of small writes.
   */
  compactChunks?: number
  /** Background compaction waits for this long without writes (default DEFAULT_COMPACT_QUIET_MS). */
  compactQuietMs?: number
  /**
   * Make snapshots in a worker thread, in the background (default true): saving a large document
   * whole blocks for hundreds of milliseconds. False: inline, in the write that triggers it (see
   * DocStore's write).
   */
  compactInWorker?: boolean
}

/**
 * When and how a replica's stored chunks are replaced by a snapshot (DocStore's storage side).
 * Keeps the stored snapshot and the chunks stored after it, which is what a background compaction
 * starts from: the worker never needs the live document.
 */
export class CompactionSchedule {
  private readonly storage: ChunkStore
  private readonly log: Log
  private readonly compactChunks: number
  private readonly quietMs: number
  /** Null: compaction is inline (DocStore's write saves the document when `due`). */
  readonly compactor: Compactor | null
  private storedSnapshot: Uint8Array | null = null
  private storedChunks: Uint8Array[] = []
  private compacting: Promise<void> | null = null
  private holds = 0
  private timer: NodeJS.Timeout | null = null
  private closed = false

  constructor (init: CompactionScheduleInit) {
    this.storage = init.storage
    this.log = init.logger
    this.compactChunks = init.compactChunks ?? DEFAULT_COMPACT_CHUNKS
    this.quietMs = init.compactQuietMs ?? DEFAULT_COMPACT_QUIET_MS
    this.compactor = init.compactInWorker === false ? null : new Compactor()
  }

  /** What was stored when the replica was loaded. */
  loaded (snapshot: Uint8Array | null, chunks: readonly Uint8Array[]): void {
    this.storedSnapshot = snapshot
    this.storedChunks = [...chunks]
  }

  /** A chunk was appended to storage. */
  appended (chunk: Uint8Array): void {
    this.storedChunks.push(chunk)
  }

  /** A snapshot replaced every stored chunk (an inline compaction). */
  replaced (snapshot: Uint8Array): void {
    this.storedSnapshot = snapshot
    this.storedChunks = []
  }

  /**
   * Chunks are change logs, far bigger and slower to load than a compressed snapshot: once they
   * outweigh the snapshot (say, after a large import) or are many, replace them with a snapshot.
   */
  due (pendingBytes: number): boolean {
    const stats = this.storage.stats()
    return stats.chunkCount + (pendingBytes > 0 ? 1 : 0) >= this.compactChunks ||
      stats.chunkBytes + pendingBytes > stats.snapshotBytes * DEFAULT_COMPACT_RATIO + 64 * 1024
  }

  /**
   * A bulk write (a plan import in many changes) holds background compaction until it ends:
   * each compaction re-saves the whole document, and one per few changes of a growing import
   * made the import's total work quadratic. Returns the function that ends the hold.
   */
  hold (): () => void {
    this.holds++
    return () => { this.holds--; this.maybeCompact() }
  }

  /**
   * Compacts once writes pause for quietMs (or the chunks reach compactChunks): changes arriving
   * in a stream (a peer's import in many changes) otherwise started one whole-document snapshot
   * after another on every node.
   */
  maybeCompact (now = false): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    const compactor = this.compactor
    if (compactor === null || this.compacting !== null || this.holds > 0 || this.closed || !this.due(0)) return
    if (!now && this.quietMs > 0 && this.storage.stats().chunkCount < this.compactChunks) {
      this.timer = setTimeout(() => { this.maybeCompact(true) }, this.quietMs)
      this.timer.unref()
      return
    }
    this.compacting = this.compactInBackground(compactor).finally(() => { this.compacting = null })
  }

  /** A compaction due or under way finishes and is stored: a restart then loads the snapshot, not the (much slower to load) chunks it replaces. */
  async finish (): Promise<void> {
    if (this.timer !== null) this.maybeCompact(true)
    await this.compacting
  }

  async close (): Promise<void> {
    this.closed = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    await this.compactor?.close()
  }

  /**
   * Makes the snapshot in the worker from the stored bytes, then swaps it in for exactly the
   * chunks it covers; writes go on meanwhile (their chunks stay). Failure leaves the chunks,
   * which load all the same: it is logged and tried again at a later write.
   */
  private async compactInBackground (compactor: Compactor): Promise<void> {
    const base = this.storedSnapshot
    const chunks = [...this.storedChunks]
    try {
      const t0 = performance.now()
      const snapshot = await compactor.compact(base, chunks)
      if (this.closed) return
      await this.storage.compact(snapshot, chunks.length)
      this.storedSnapshot = snapshot
      this.storedChunks = this.storedChunks.slice(chunks.length)
      this.log.debug({ ms: Math.round(performance.now() - t0), bytes: snapshot.byteLength, chunks: chunks.length }, 'compacted')
    } catch (err) {
      this.log.warn({ err }, 'compaction failed; the chunks stay and load as they are')
    }
  }
}
