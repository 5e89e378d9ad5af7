/**
 * Where a replica keeps its bytes: a snapshot plus the incremental chunks saved after it.
 * Loading is snapshot, then every chunk in order; compaction replaces both with a new snapshot
 * in one atomic step, so a crash at any point leaves a loadable set.
 */
export interface StoredDoc {
  snapshot: Uint8Array | null
  chunks: Uint8Array[]
}

export interface ChunkStore {
  open(): Promise<void>
  load(): Promise<StoredDoc>
  /** Durable when the promise resolves (see the adapter's sync setting). */
  append(chunk: Uint8Array): Promise<void>
  /**
   * Atomically: store the snapshot and drop the chunks it covers: the first `covered` chunks
   * stored (default: every chunk appended before this call). Chunks appended while a snapshot
   * was being made in the background stay.
   */
  compact(snapshot: Uint8Array, covered?: number): Promise<void>
  /** Bytes currently stored (snapshot + chunks), for metrics and the compaction rule. */
  stats(): { snapshotBytes: number, chunkBytes: number, chunkCount: number }
  close(): Promise<void>
}
