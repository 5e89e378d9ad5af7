import { EventEmitter } from 'node:events'
import * as A from '@automerge/automerge'
import type { Log } from './log.js'
import { checkedView } from './materialization.js'
import type { ChunkStore } from './storage/chunk-store.js'
import { Compactor } from './storage/compact.js'
import { DEFAULT_WRITE_RETRY_MAX_MS, DEFAULT_WRITE_RETRY_MIN_MS, WriteFailures, type StorageHealth } from './storage/write-failures.js'
import { genesis, type FleetDoc } from './schema.js'
import { migrate } from './migrations.js'

export const DEFAULT_COMPACT_CHUNKS = 512
export const DEFAULT_COMPACT_RATIO = 1
/** Remote changes are acknowledged to nobody, so their disk writes can wait and be batched. */
export const DEFAULT_REMOTE_FLUSH_DELAY_MS = 50
export const DEFAULT_COMPACT_QUIET_MS = 500

export interface DocStoreInit {
  storage: ChunkStore
  logger: Log
  /** Automerge actor id (hex) for this replica's changes; default random. */
  actor?: string
  /**
   * Compact into a snapshot once this many chunks accumulated (default DEFAULT_COMPACT_CHUNKS)
   * or once the chunks outweigh the snapshot by DEFAULT_COMPACT_RATIO: load time stays
   * proportional to the document, not to its history of small writes.
   */
  compactChunks?: number
  /** Background compaction waits for this long without writes (default DEFAULT_COMPACT_QUIET_MS). */
  compactQuietMs?: number
  /** How long remote changes may wait before being written (default DEFAULT_REMOTE_FLUSH_DELAY_MS). */
  remoteFlushDelayMs?: number
  /**
   * Make snapshots in a worker thread, in the background (default true): saving a large document
   * whole blocks for hundreds of milliseconds. False: inline, in the write that triggers it.
   */
  compactInWorker?: boolean
  /** Retry delays after a failed disk write (defaults DEFAULT_WRITE_RETRY_MIN_MS doubling to DEFAULT_WRITE_RETRY_MAX_MS). */
  retryMinMs?: number
  retryMaxMs?: number
}

export type ChangeOrigin = 'local' | 'remote'

export interface DocChangeEvent {
  origin: ChangeOrigin
  /** Heads after the change. */
  heads: A.Heads
  /** For local changes: the encoded changes, ready to publish. */
  changes: Uint8Array[]
  patches: A.Patch[]
}

export interface DocStoreEvents {
  change: [DocChangeEvent]
  persisted: [A.Heads]
  /** Disk writes started failing (writable false) or work again (writable true). */
  storage: [StorageHealth]
}

export type Mutator<R> = (doc: FleetDoc) => R

interface Waiter {
  resolve: () => void
  reject: (err: unknown) => void
}

export class StorageClosedError extends Error {
  override name = 'StorageClosedError'
  constructor () { super('the document store is closed') }
}

/**
 * Owns the replica: every local mutation and every remote change goes through here, so
 * persistence and change events happen in one place. Writes are group-committed: each mutation
 * is its own Automerge change, applied at once, and all changes made while a disk write is in
 * flight are saved together in the next one; a write's promise resolves only once it is on disk.
 * A failed disk write (disk full) rejects its waiters; its changes stay dirty and are retried with backoff;
 * local writes are refused unchanged until a retry works; remote ones still apply (their authors hold them).
 */
export class DocStore extends EventEmitter<DocStoreEvents> {
  private current: A.Doc<FleetDoc>
  private readonly storage: ChunkStore
  private readonly log: Log
  private readonly compactChunks: number
  private readonly remoteFlushDelayMs: number
  private remoteFlushTimer: NodeJS.Timeout | null = null
  private savedHeads: A.Heads
  private waiters: Waiter[] = []
  private flushing: Promise<void> | null = null
  private dirty = false
  private closed = false
  /** The stored snapshot and the chunks stored after it: what a background compaction starts from. */
  private storedSnapshot: Uint8Array | null = null
  private storedChunks: Uint8Array[] = []
  private readonly compactor: Compactor | null
  private compacting: Promise<void> | null = null
  private compactionHolds = 0
  private compactTimer: NodeJS.Timeout | null = null
  private readonly compactQuietMs: number
  private readonly failures: WriteFailures
  /** Times the materialized view was rebuilt after Automerge showed a stale value (see materialization.ts). */
  materializationRepairs = 0
  /** How long loading from disk took at open, and how much was read. */
  loadStats = { ms: 0, bytes: 0, chunks: 0 }

  private constructor (doc: A.Doc<FleetDoc>, init: DocStoreInit) {
    super()
    this.current = doc
    this.storage = init.storage
    this.log = init.logger
    this.compactChunks = init.compactChunks ?? DEFAULT_COMPACT_CHUNKS
    this.compactQuietMs = init.compactQuietMs ?? DEFAULT_COMPACT_QUIET_MS
    this.remoteFlushDelayMs = init.remoteFlushDelayMs ?? DEFAULT_REMOTE_FLUSH_DELAY_MS
    this.failures = new WriteFailures({
      minMs: init.retryMinMs ?? DEFAULT_WRITE_RETRY_MIN_MS,
      maxMs: init.retryMaxMs ?? DEFAULT_WRITE_RETRY_MAX_MS,
      now: Date.now,
      logger: init.logger,
      onChange: () => { this.emit('storage', this.storageHealth()) }
    })
    this.savedHeads = A.getHeads(doc)
    this.compactor = init.compactInWorker === false ? null : new Compactor()
  }

  /** Loads the replica from storage (or starts from genesis) before anything else sees it. */
  static async open (init: DocStoreInit): Promise<DocStore> {
    const t0 = performance.now()
    await init.storage.open()
    const stored = await init.storage.load()
    const opts = init.actor === undefined ? undefined : { actor: init.actor }
    let doc: A.Doc<FleetDoc>
    if (stored.snapshot === null) {
      doc = genesis(init.actor)
    } else {
      doc = A.load<FleetDoc>(stored.snapshot, opts)
    }
    const fresh = stored.snapshot === null && stored.chunks.length === 0
    for (const chunk of stored.chunks) doc = A.loadIncremental(doc, chunk)
    // Root maps added since genesis (crdt/migrations.ts): identical changes on every node.
    const beforeMigration = A.getHeads(doc).join()
    doc = migrate(doc)
    const migrated = A.getHeads(doc).join() !== beforeMigration
    const store = new DocStore(doc, init)
    store.storedSnapshot = stored.snapshot
    store.storedChunks = [...stored.chunks]
    store.loadStats = { ms: performance.now() - t0, bytes: (stored.snapshot?.byteLength ?? 0) + stored.chunks.reduce((n, c) => n + c.byteLength, 0), chunks: stored.chunks.length }
    // A brand new replica persists genesis so that a later load finds the shared root maps.
    if (fresh) store.savedHeads = []
    if (fresh || migrated || stored.chunks.length > 0) store.dirty = true
    await store.flush()
    if (store.failures.failure !== null) { // a replica that cannot be written does not start
      store.failures.stop()
      await store.compactor?.close()
      await init.storage.close().catch(() => undefined)
      throw store.failures.failure
    }
    return store
  }

  get doc (): A.Doc<FleetDoc> { return this.current }

  heads (): A.Heads { return A.getHeads(this.current) }

  actor (): string { return A.getActorId(this.current) }

  /**
   * Applies one local mutation. The mutator runs synchronously inside an Automerge change; if it
   * throws, nothing is written and the error is re-thrown. Resolves with the mutator's result
   * once the change is durable. A mutator that changes nothing writes nothing.
   */
  async change<R> (mutate: Mutator<R>, message?: string): Promise<R> {
    if (this.failures.failure !== null) throw this.failures.failure
    const result = this.changeNow(mutate, message)
    await this.whenPersisted()
    return result
  }

  /**
   * Like change(), also giving the hash of the change made (null if nothing changed): a local
   * change depends on every head, so right after it the heads are exactly this one change.
   */
  async commit<R> (mutate: Mutator<R>, message?: string): Promise<{ result: R, hash: string | null }> {
    if (this.failures.failure !== null) throw this.failures.failure
    const before = this.heads().join()
    const result = this.changeNow(mutate, message)
    const heads = this.heads()
    const hash = heads.join() === before ? null : (heads[0] ?? null)
    await this.whenPersisted()
    return { result, hash }
  }

  /** Hashes of changes not in the history of `heads` (empty if `heads` has everything we have). */
  changesSince (heads: A.Heads): string[] {
    return A.getChangesMetaSince(this.current, heads).map(m => m.hash)
  }

  /** Like change(), but returns before the disk write; for chatter whose loss is harmless. */
  changeNow<R> (mutate: Mutator<R>, message?: string): R {
    if (this.closed) throw new StorageClosedError()
    const before = this.current
    let result!: R
    let patches: A.Patch[] = []
    const opts: A.ChangeOptions<FleetDoc> = {
      patchCallback: (p) => { patches = p }
    }
    if (message !== undefined) opts.message = message
    const after = A.change(before, opts, (d) => { result = mutate(d) })
    if (after === before || A.getHeads(after).join() === A.getHeads(before).join()) return result
    this.current = after
    const change = A.getLastLocalChange(after)
    this.markDirty('local')
    this.emit('change', { origin: 'local', heads: A.getHeads(after), changes: change === undefined ? [] : [change], patches })
    return result
  }

  /**
   * Applies changes from a peer (gossip). Bad bytes throw before the document is touched.
   * Returns true if the heads moved.
   */
  applyRemote (changes: Uint8Array[]): boolean {
    if (this.closed) throw new StorageClosedError()
    const before = this.current
    const beforeHeads = A.getHeads(before)
    let patches: A.Patch[] = []
    const [after] = A.applyChanges(before, changes, { patchCallback: (p) => { patches = p } })
    return this.adoptRemote(after, beforeHeads, patches)
  }

  /** One step of the Automerge sync protocol with a peer; remote changes are persisted as usual. */
  receiveSyncMessage (state: A.SyncState, message: Uint8Array): A.SyncState {
    if (this.closed) throw new StorageClosedError()
    const before = this.current
    const beforeHeads = A.getHeads(before)
    let patches: A.Patch[] = []
    const [after, next] = A.receiveSyncMessage(before, state, message, { patchCallback: (p) => { patches = p } })
    this.adoptRemote(after, beforeHeads, patches)
    return next
  }

  /** Takes a document that remote changes produced; if its heads moved, persists and announces it. */
  private adoptRemote (applied: A.Doc<FleetDoc>, beforeHeads: A.Heads, patches: A.Patch[]): boolean {
    const { doc: after, stale } = checkedView(applied, patches)
    if (stale.length > 0) {
      this.materializationRepairs++
      this.log.warn({ paths: stale.slice(0, 5).map(p => p.join('/')), count: stale.length }, 'Automerge showed a stale value after remote changes; rebuilt the view from the document')
    }
    this.current = after
    const heads = A.getHeads(after)
    if (heads.join() === beforeHeads.join()) return false
    this.markDirty('remote')
    this.emit('change', { origin: 'remote', heads, changes: [], patches })
    return true
  }

  generateSyncMessage (state: A.SyncState): [A.SyncState, Uint8Array | null] {
    return A.generateSyncMessage(this.current, state)
  }

  /** Heads that the given heads depend on and this replica lacks (also counts queued changes' gaps). */
  missingDeps (heads: A.Heads = []): A.Heads {
    return A.getMissingDeps(this.current, heads)
  }

  /** Resolves when every change made so far is on disk; rejects while disk writes fail. */
  async whenPersisted (): Promise<void> {
    if (!this.dirty && this.flushing === null) return
    if (this.failures.failure !== null && this.flushing === null) throw this.failures.failure
    await new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject })
      this.scheduleFlush()
    })
  }

  /** Whether disk writes work; while they fail, local writes are refused (see the class comment). */
  storageHealth (): StorageHealth {
    return { writable: this.failures.failure === null, failure: this.failures.failure }
  }

  async close (): Promise<void> {
    if (this.closed) return
    // One last attempt even while degraded (what may still fail to save was never acknowledged).
    this.failures.stop()
    await this.flush()
    // A compaction due or under way finishes and is stored: a restart then loads the snapshot,
    // not the (much slower to load) chunks it replaces.
    if (this.compactTimer !== null) this.maybeCompact(true)
    await this.compacting
    this.failures.stop()
    if (this.failures.failure !== null) this.log.error({ err: this.failures.failure }, 'closing with changes not saved to disk (none of them acknowledged)')
    this.closed = true
    await this.compactor?.close()
    await this.storage.close()
  }

  /** Bytes the replica takes when saved whole (benchmarks; blocks the loop like a compaction). */
  savedSize (): number {
    return A.save(this.current).byteLength
  }

  /** Bytes stored: the last snapshot plus the chunks saved since (cheap, for metrics and the API). */
  storedBytes (): number {
    const s = this.storage.stats()
    return s.snapshotBytes + s.chunkBytes
  }

  storageStats (): ReturnType<ChunkStore['stats']> {
    return this.storage.stats()
  }

  private markDirty (origin: ChangeOrigin): void {
    this.dirty = true
    if (origin === 'local') {
      this.scheduleFlush()
    } else if (this.remoteFlushTimer === null && this.flushing === null) {
      this.remoteFlushTimer = setTimeout(() => {
        this.remoteFlushTimer = null
        this.scheduleFlush()
      }, this.remoteFlushDelayMs)
    }
  }

  private scheduleFlush (): void {
    if (this.remoteFlushTimer !== null) {
      clearTimeout(this.remoteFlushTimer)
      this.remoteFlushTimer = null
    }
    // While degraded, the retry timer decides when the disk is tried again.
    if (this.flushing !== null || this.failures.waiting) return
    this.flushing = this.runFlush()
  }

  /** Never rejects: failures are turned into the degraded state and rejected waiters. */
  private async runFlush (): Promise<void> {
    // One disk write carries every change made while the previous one was in flight.
    while (this.dirty) {
      const waiters = this.waiters
      this.waiters = []
      try {
        await this.writeOnce()
        for (const w of waiters) w.resolve()
        this.failures.succeeded()
      } catch (err) {
        // Nothing since savedHeads is on disk: the changes stay dirty for the next attempt, and every
        // write waiting now (also those that arrived during this one) is refused, not acknowledged.
        this.dirty = true
        const failure = this.failures.failed(err)
        for (const w of [...waiters, ...this.waiters]) w.reject(failure)
        this.waiters = []
        break
      }
    }
    this.flushing = null
    if (this.failures.failure !== null) {
      if (!this.closed) this.failures.retryLater(() => { this.scheduleFlush() })
      return
    }
    // Waiters that arrived after the last pass but found nothing dirty.
    const rest = this.waiters
    this.waiters = []
    for (const w of rest) w.resolve()
  }

  private async flush (): Promise<void> {
    this.scheduleFlush()
    if (this.flushing !== null) await this.flushing
  }

  private async writeOnce (): Promise<void> {
    // Cleared before the write so that changes made while it is in flight mark it again.
    this.dirty = false
    const doc = this.current
    const heads = A.getHeads(doc)
    const chunk = A.saveSince(doc, this.savedHeads)
    if (this.compactor === null && this.needsCompaction(chunk.byteLength)) {
      const snapshot = A.save(doc)
      await this.storage.compact(snapshot)
      this.storedSnapshot = snapshot
      this.storedChunks = []
    } else if (chunk.byteLength > 0) {
      await this.storage.append(chunk)
      this.storedChunks.push(chunk)
    }
    this.savedHeads = heads
    this.emit('persisted', heads)
    this.maybeCompact()
  }

  /**
   * A bulk write (a plan import in many changes) holds background compaction until it ends:
   * each compaction re-saves the whole document, and one per few changes of a growing import
   * made the import's total work quadratic. Returns the function that ends the hold.
   */
  holdCompaction (): () => void {
    this.compactionHolds++
    return () => { this.compactionHolds--; this.maybeCompact() }
  }

  /**
   * Compacts once writes pause for compactQuietMs (or the chunks reach compactChunks): changes
   * arriving in a stream (a peer's import in many changes) otherwise started one whole-document
   * snapshot after another on every node.
   */
  private maybeCompact (now = false): void {
    if (this.compactTimer !== null) clearTimeout(this.compactTimer)
    this.compactTimer = null
    const compactor = this.compactor
    if (compactor === null || this.compacting !== null || this.compactionHolds > 0 || this.closed || !this.needsCompaction(0)) return
    if (!now && this.compactQuietMs > 0 && this.storage.stats().chunkCount < this.compactChunks) {
      this.compactTimer = setTimeout(() => { this.maybeCompact(true) }, this.compactQuietMs)
      this.compactTimer.unref()
      return
    }
    this.compacting = this.compactInBackground(compactor).finally(() => { this.compacting = null })
  }

  /**
   * Chunks are change logs, far bigger and slower to load than a compressed snapshot: once they
   * outweigh the snapshot (say, after a large import) or are many, replace them with a snapshot.
   */
  private needsCompaction (pendingBytes: number): boolean {
    const stats = this.storage.stats()
    return stats.chunkCount + (pendingBytes > 0 ? 1 : 0) >= this.compactChunks ||
      stats.chunkBytes + pendingBytes > stats.snapshotBytes * DEFAULT_COMPACT_RATIO + 64 * 1024
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
