import { EventEmitter } from 'node:events'
import * as A from '@automerge/automerge'
import type { Log } from './log.js'
import { ChangeGroup } from './change-group.js'
import { checkedView } from './materialization.js'
import type { ChunkStore } from './storage/chunk-store.js'
import { snapshotOf } from './storage/compact.js'
import { CompactionSchedule, type CompactionScheduleInit } from './storage/compaction-schedule.js'
import { DEFAULT_WRITE_RETRY_MAX_MS, DEFAULT_WRITE_RETRY_MIN_MS, WriteFailures, type StorageHealth } from './storage/write-failures.js'
import { genesis, type FleetDoc } from './schema.js'
import { migrate } from './migrations.js'

/** Remote changes are acknowledged to nobody, so their disk writes can wait and be batched. */
export const DEFAULT_REMOTE_FLUSH_DELAY_MS = 50

/** Compaction options (compactChunks, compactQuietMs, compactInWorker): see CompactionScheduleInit. */
export interface DocStoreInit extends CompactionScheduleInit {
  /** Automerge actor id (hex) for this replica's changes; default random. */
  actor?: string
  /** How long remote changes may wait before being written (default DEFAULT_REMOTE_FLUSH_DELAY_MS). */
  remoteFlushDelayMs?: number
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
 * persistence and change events happen in one place. Writes are group-committed: a change()
 * is its own Automerge change, applied at once, concurrent groupChange() writes share one change,
 * and all changes made while a disk write is in flight are saved together in the next one; a
 * write's promise resolves only once it is on disk.
 * A failed disk write (disk full) rejects its waiters; its changes stay dirty and are retried with backoff;
 * local writes are refused unchanged until a retry works; remote ones still apply (their authors hold them).
 */
export class DocStore extends EventEmitter<DocStoreEvents> {
  private current: A.Doc<FleetDoc>
  private readonly storage: ChunkStore
  private readonly log: Log
  private readonly remoteFlushDelayMs: number
  private remoteFlushTimer: NodeJS.Timeout | null = null
  private savedHeads: A.Heads
  private waiters: Waiter[] = []
  private flushing: Promise<void> | null = null
  private dirty = false
  private closed = false
  /** When stored chunks are replaced by a snapshot (and what a background compaction starts from). */
  private readonly compaction: CompactionSchedule
  private readonly failures: WriteFailures
  /** Concurrent writes made one change (groupChange): those of one turn, or queued during a disk write (runFlush releases them). */
  private readonly group = new ChangeGroup({ apply: (m, msg, writes) => { this.applyLocal(m, msg, writes) }, busy: () => this.flushing !== null })
  /** Times the materialized view was rebuilt after Automerge showed a stale value (see materialization.ts). */
  materializationRepairs = 0
  /** Local writes applied, and the changes they made (concurrent groupChange writes share one). */
  readonly localWrites = { writes: 0, changes: 0 }
  /** How long loading from disk took at open, and how much was read. */
  loadStats = { ms: 0, bytes: 0, chunks: 0 }

  private constructor (doc: A.Doc<FleetDoc>, init: DocStoreInit) {
    super()
    this.current = doc
    this.storage = init.storage
    this.log = init.logger
    this.remoteFlushDelayMs = init.remoteFlushDelayMs ?? DEFAULT_REMOTE_FLUSH_DELAY_MS
    this.failures = new WriteFailures({
      minMs: init.retryMinMs ?? DEFAULT_WRITE_RETRY_MIN_MS,
      maxMs: init.retryMaxMs ?? DEFAULT_WRITE_RETRY_MAX_MS,
      now: Date.now,
      logger: init.logger,
      onChange: () => { this.emit('storage', this.storageHealth()) }
    })
    this.savedHeads = A.getHeads(doc)
    this.compaction = new CompactionSchedule(init)
  }

  /** Loads the replica from storage (or starts from genesis) before anything else sees it. */
  static async open (init: DocStoreInit): Promise<DocStore> {
    const t0 = performance.now()
    await init.storage.open()
    const stored = await init.storage.load()
    const opts = init.actor === undefined ? undefined : { actor: init.actor }
    const fresh = stored.snapshot === null && stored.chunks.length === 0
    let doc: A.Doc<FleetDoc>
    if (fresh) {
      doc = genesis(init.actor)
    } else {
      // Chunks are loaded with the snapshot in one pass (storage/compact.ts): applied one by one
      // on top of the loaded snapshot, the chunks of a large import took many times as long.
      doc = A.load<FleetDoc>(stored.chunks.length === 0 ? stored.snapshot as Uint8Array : snapshotOf(stored.snapshot ?? A.save(genesis(init.actor)), stored.chunks), opts)
    }
    // Root maps added since genesis (crdt/migrations.ts): identical changes on every node.
    const beforeMigration = A.getHeads(doc).join()
    doc = migrate(doc)
    const migrated = A.getHeads(doc).join() !== beforeMigration
    const store = new DocStore(doc, init)
    store.compaction.loaded(stored.snapshot, stored.chunks)
    store.loadStats = { ms: performance.now() - t0, bytes: (stored.snapshot?.byteLength ?? 0) + stored.chunks.reduce((n, c) => n + c.byteLength, 0), chunks: stored.chunks.length }
    // A brand new replica persists genesis so that a later load finds the shared root maps.
    if (fresh) store.savedHeads = []
    if (fresh || migrated || stored.chunks.length > 0) store.dirty = true
    await store.flush()
    if (store.failures.failure !== null) { // a replica that cannot be written does not start
      store.failures.stop()
      await store.compaction.close()
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

  /**
   * Like change(), but joined into one Automerge change with the other groupChange writes of this
   * turn, or of the time a disk write is in flight (see ChangeGroup: for writes that need nothing but
   * their own effect, not for claims). Applied then, or before any other local change, so writes
   * keep their order; resolves once on disk.
   */
  async groupChange<R> (mutate: Mutator<R>, message?: string): Promise<R> {
    if (this.failures.failure !== null) throw this.failures.failure
    if (this.closed) throw new StorageClosedError()
    return await this.group.add(mutate, message, async () => { await this.whenPersisted() })
  }

  /** Like change(), but returns before the disk write; for chatter whose loss is harmless. */
  changeNow<R> (mutate: Mutator<R>, message?: string): R {
    // Grouped writes made before this one go first.
    if (this.group.size > 0) this.group.flush()
    return this.applyLocal(mutate, message)
  }

  /** One local change; `writes`: how many callers' writes it carries (a group's). */
  private applyLocal<R> (mutate: Mutator<R>, message?: string, writes = 1): R {
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
    this.localWrites.writes += writes
    this.localWrites.changes++
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
    // Grouped writes still queued are applied and saved with the rest.
    this.group.flush()
    // One last attempt even while degraded (what may still fail to save was never acknowledged).
    this.failures.stop()
    await this.flush()
    await this.compaction.finish()
    this.failures.stop()
    if (this.failures.failure !== null) this.log.error({ err: this.failures.failure }, 'closing with changes not saved to disk (none of them acknowledged)')
    this.closed = true
    await this.compaction.close()
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
        // Grouped writes queued behind this disk write were never applied: refused unchanged.
        this.group.rejectAll(failure)
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
    // Grouped writes that queued during the disk write become the next change.
    this.group.release()
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
    if (this.compaction.compactor === null && this.compaction.due(chunk.byteLength)) {
      const snapshot = A.save(doc)
      await this.storage.compact(snapshot)
      this.compaction.replaced(snapshot)
    } else if (chunk.byteLength > 0) {
      await this.storage.append(chunk)
      this.compaction.appended(chunk)
    }
    this.savedHeads = heads
    this.emit('persisted', heads)
    this.compaction.maybeCompact()
  }

  /** Holds background compaction during a bulk write (see CompactionSchedule.hold); returns the release. */
  holdCompaction (): () => void {
    return this.compaction.hold()
  }
}
