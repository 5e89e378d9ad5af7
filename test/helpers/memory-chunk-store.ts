import type { ChunkStore, StoredDoc } from '../../crdt/storage/chunk-store.js'

/** Keeps a replica's chunks in memory: for tests about documents and rules, not disks. */
export class MemoryChunkStore implements ChunkStore {
  private snapshot: Uint8Array | null = null
  private chunks: Uint8Array[] = []
  async open (): Promise<void> {}
  async load (): Promise<StoredDoc> { return { snapshot: this.snapshot, chunks: [...this.chunks] } }
  async append (chunk: Uint8Array): Promise<void> { this.chunks.push(chunk) }
  async compact (snapshot: Uint8Array, covered?: number): Promise<void> { this.snapshot = snapshot; this.chunks = this.chunks.slice(covered ?? this.chunks.length) }
  stats (): { snapshotBytes: number, chunkBytes: number, chunkCount: number } {
    return { snapshotBytes: this.snapshot?.byteLength ?? 0, chunkBytes: this.chunks.reduce((n, c) => n + c.byteLength, 0), chunkCount: this.chunks.length }
  }

  async close (): Promise<void> {}
}
