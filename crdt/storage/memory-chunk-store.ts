import type { ChunkStore, StoredDoc } from './chunk-store.js'

/**
 * Keeps a replica's chunks in memory: for tests and the simulator, where disks are not the subject.
 * `failWith` makes every write fail (a full disk) until cleared.
 */
export class MemoryChunkStore implements ChunkStore {
  snapshot: Uint8Array | null = null
  chunks: Uint8Array[] = []
  failWith: Error | null = null
  writes = 0
  failedWrites = 0

  async open (): Promise<void> {}
  async load (): Promise<StoredDoc> { return { snapshot: this.snapshot, chunks: [...this.chunks] } }

  async append (chunk: Uint8Array): Promise<void> {
    this.check()
    this.chunks.push(chunk)
  }

  async compact (snapshot: Uint8Array, covered?: number): Promise<void> {
    this.check()
    this.snapshot = snapshot
    this.chunks = this.chunks.slice(covered ?? this.chunks.length)
  }

  stats (): { snapshotBytes: number, chunkBytes: number, chunkCount: number } {
    return { snapshotBytes: this.snapshot?.byteLength ?? 0, chunkBytes: this.chunks.reduce((n, c) => n + c.byteLength, 0), chunkCount: this.chunks.length }
  }

  async close (): Promise<void> {}

  private check (): void {
    this.writes++
    if (this.failWith !== null) {
      this.failedWrites++
      throw this.failWith
    }
  }
}

/** The error LevelDB gives on a full disk (no errno code, only the text). */
export function diskFullError (): Error {
  return Object.assign(new Error('IO error: /data/db/000003.log: No space left on device'), { code: 'LEVEL_IO_ERROR' })
}
