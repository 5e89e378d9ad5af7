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

/**
 * LevelDB adapter: key 's' holds the snapshot, keys 'c<seq>' the chunks saved after it.
 *
 * After a failed write (disk full) the database is closed and reopened before the next write.
 * Why: LevelDB may have left a torn record at the end of its log and keeps writing after it;
 * on the next open, recovery stops at the tear and drops every record written after it, even
 * ones it acknowledged (seen here on a full tmpfs). Reopening first recovers up to the tear (only
 * the failed, unacknowledged write is lost) and starts a fresh log. Reopening needs free space
 * too, so until the disk has room every write fails, and nothing acknowledged is at risk.
 */
export class LevelChunkStore implements ChunkStore {
  private readonly db: Level<string, Uint8Array>
  private readonly sync: boolean
  private needsReopen = false
  private tail: Promise<void> = Promise.resolve()
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
    await this.writing(async () => {
      const key = chunkKey(this.nextSeq++)
      await this.db.put(key, chunk, { sync: this.sync })
      this.chunkKeys.push(key)
      this.chunkSizes.push(chunk.byteLength)
      this.chunkBytes += chunk.byteLength
    })
  }

  async compact (snapshot: Uint8Array, count?: number): Promise<void> {
    await this.writing(async () => {
      const covered = this.chunkKeys.slice(0, count ?? this.chunkKeys.length)
      await this.db.batch([
        { type: 'put', key: SNAPSHOT_KEY, value: snapshot },
        ...covered.map((key) => ({ type: 'del' as const, key }))
      ], { sync: this.sync })
      // Only once the batch is stored: a failed one leaves the chunks it would have replaced.
      this.chunkKeys = this.chunkKeys.slice(covered.length)
      const coveredBytes = this.chunkSizes.splice(0, covered.length).reduce((n, b) => n + b, 0)
      this.snapshotBytes = snapshot.byteLength
      this.chunkBytes -= coveredBytes
    })
  }

  /**
   * Runs one write after the ones before it (so a reopen never overlaps a write in flight); a
   * failure marks the database for a reopen before the next one (see the class comment).
   */
  private async writing (write: () => Promise<void>): Promise<void> {
    const run = this.tail.then(async () => {
      if (this.needsReopen) {
        await this.db.close().catch(() => undefined)
        await this.db.open()
        // The failed write may or may not have survived: re-read what is there.
        await this.load()
        this.needsReopen = false
      }
      try {
        await write()
      } catch (err) {
        this.needsReopen = true
        throw err
      }
    })
    this.tail = run.catch(() => undefined)
    await run
  }

  stats (): { snapshotBytes: number, chunkBytes: number, chunkCount: number } {
    return { snapshotBytes: this.snapshotBytes, chunkBytes: this.chunkBytes, chunkCount: this.chunkKeys.length }
  }

  async close (): Promise<void> {
    await this.db.close()
  }
}
