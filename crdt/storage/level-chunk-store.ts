import { Level } from 'level'
import type { ChunkStore, StoredDoc } from './chunk-store.js'

export const DEFAULT_SYNC_WRITES = false

export interface LevelChunkStoreInit {
  /** Directory of the LevelDB database. */
  path: string
  /**
   * fsync every write. Default DEFAULT_SYNC_WRITES (false): a write is in LevelDB's log through
   * write(2) before it is acknowledged, which survives a killed process (kill -9); true also
   * survives power loss, at the price of an fsync per group commit.
   */
  sync?: boolean
}

const SNAPSHOT_KEY = 's'
const CHUNK_PREFIX = 'c'
/** Fixed width so LevelDB's byte order is numeric order. */
const SEQ_WIDTH = 16

function chunkKey (seq: number): string {
  return CHUNK_PREFIX + seq.toString().padStart(SEQ_WIDTH, '0')
}

/** LevelDB adapter: key 's' holds the snapshot, keys 'c<seq>' the chunks saved after it. */
export class LevelChunkStore implements ChunkStore {
  private readonly db: Level<string, Uint8Array>
  private readonly sync: boolean
  private nextSeq = 0
  private chunkKeys: string[] = []
  /** Size of each chunk in chunkKeys, in the same order. */
  private chunkSizes: number[] = []
  private snapshotBytes = 0
  private chunkBytes = 0

  constructor (init: LevelChunkStoreInit) {
    this.db = new Level<string, Uint8Array>(init.path, { valueEncoding: 'view' })
    this.sync = init.sync ?? DEFAULT_SYNC_WRITES
  }

  async open (): Promise<void> {
    await this.db.open()
  }

  async load (): Promise<StoredDoc> {
    const snapshot = (await this.db.get(SNAPSHOT_KEY)) ?? null
    this.snapshotBytes = snapshot?.byteLength ?? 0
    const chunks: Uint8Array[] = []
    this.chunkKeys = []
    this.chunkSizes = []
    this.chunkBytes = 0
    for await (const [key, value] of this.db.iterator({ gt: CHUNK_PREFIX, lt: CHUNK_PREFIX + '~' })) {
      chunks.push(value)
      this.chunkKeys.push(key)
      this.chunkSizes.push(value.byteLength)
      this.chunkBytes += value.byteLength
      this.nextSeq = Number(key.slice(CHUNK_PREFIX.length)) + 1
    }
    return { snapshot, chunks }
  }

  async append (chunk: Uint8Array): Promise<void> {
    const key = chunkKey(this.nextSeq++)
    await this.db.put(key, chunk, { sync: this.sync })
    this.chunkKeys.push(key)
    this.chunkSizes.push(chunk.byteLength)
    this.chunkBytes += chunk.byteLength
  }

  async compact (snapshot: Uint8Array, count?: number): Promise<void> {
    const covered = this.chunkKeys.slice(0, count ?? this.chunkKeys.length)
    this.chunkKeys = this.chunkKeys.slice(covered.length)
    const coveredBytes = this.chunkSizes.splice(0, covered.length).reduce((n, b) => n + b, 0)
    await this.db.batch([
      { type: 'put', key: SNAPSHOT_KEY, value: snapshot },
      ...covered.map((key) => ({ type: 'del' as const, key }))
    ], { sync: this.sync })
    this.snapshotBytes = snapshot.byteLength
    this.chunkBytes -= coveredBytes
  }

  stats (): { snapshotBytes: number, chunkBytes: number, chunkCount: number } {
    return { snapshotBytes: this.snapshotBytes, chunkBytes: this.chunkBytes, chunkCount: this.chunkKeys.length }
  }

  async close (): Promise<void> {
    await this.db.close()
  }
}
