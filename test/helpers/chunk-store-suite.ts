import assert from 'node:assert/strict'
import type { ChunkStore } from '../../crdt/storage/chunk-store.js'

/** What the shared suite needs from an adapter: a fresh store, and the same storage opened again. */
export interface ChunkStoreHarness {
  fresh: () => Promise<ChunkStore>
  /** A new instance over the storage `store` used (after it was closed). */
  reopen: (store: ChunkStore) => Promise<ChunkStore>
  cleanup: () => void
}

const bytes = (...xs: number[]): Uint8Array => Uint8Array.from(xs)

/** Adapters may return Buffers (a Uint8Array subclass): compare the bytes, not the classes. */
async function loaded (s: ChunkStore): Promise<{ snapshot: number[] | null, chunks: number[][] }> {
  const d = await s.load()
  return { snapshot: d.snapshot === null ? null : [...d.snapshot], chunks: d.chunks.map(c => [...c]) }
}

/**
 * The contract every ChunkStore adapter keeps (crdt/storage/chunk-store.ts): load gives the
 * snapshot and then every chunk in append order; compact replaces both at once; stats count what
 * is stored; everything survives close and reopen. Call inside a describe per adapter.
 */
export function chunkStoreSuite (harness: () => ChunkStoreHarness): void {
  let h: ChunkStoreHarness
  const opened: ChunkStore[] = []
  const open = async (s: Promise<ChunkStore>): Promise<ChunkStore> => {
    const store = await s
    await store.open()
    opened.push(store)
    return store
  }
  beforeEach(() => { h = harness() })
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close().catch(() => {})
    h.cleanup()
  })

  it('starts empty', async () => {
    const s = await open(h.fresh())
    assert.deepEqual(await loaded(s), { snapshot: null, chunks: [] })
    assert.deepEqual(s.stats(), { snapshotBytes: 0, chunkBytes: 0, chunkCount: 0 })
  })

  it('loads chunks in the order they were appended, and counts them', async () => {
    const s = await open(h.fresh())
    for (let i = 0; i < 12; i++) await s.append(bytes(i, i, i))
    const got = await loaded(s)
    assert.equal(got.snapshot, null)
    assert.deepEqual(got.chunks.map(c => c[0]), [...Array(12).keys()])
    assert.deepEqual(s.stats(), { snapshotBytes: 0, chunkBytes: 36, chunkCount: 12 })
  })

  it('compaction replaces the snapshot and drops every earlier chunk; later chunks follow it', async () => {
    const s = await open(h.fresh())
    await s.append(bytes(1))
    await s.append(bytes(2))
    await s.compact(bytes(9, 9, 9, 9))
    await s.append(bytes(3))
    assert.deepEqual(await loaded(s), { snapshot: [9, 9, 9, 9], chunks: [[3]] })
    assert.deepEqual(s.stats(), { snapshotBytes: 4, chunkBytes: 1, chunkCount: 1 })
    await s.compact(bytes(8))
    assert.deepEqual(await loaded(s), { snapshot: [8], chunks: [] })
  })

  it('a compaction made in the background covers only the chunks it was made from; later ones stay', async () => {
    const s = await open(h.fresh())
    await s.append(bytes(1))
    await s.append(bytes(2))
    await s.append(bytes(3))
    await s.compact(bytes(9, 9), 2)
    assert.deepEqual(await loaded(s), { snapshot: [9, 9], chunks: [[3]] })
    assert.deepEqual(s.stats(), { snapshotBytes: 2, chunkBytes: 1, chunkCount: 1 })
  })

  it('keeps everything across close and reopen, and keeps appending after what it had', async () => {
    const s = await open(h.fresh())
    await s.compact(bytes(7, 7))
    await s.append(bytes(1))
    await s.append(bytes(2))
    await s.close()
    const again = await open(h.reopen(s))
    assert.deepEqual(await loaded(again), { snapshot: [7, 7], chunks: [[1], [2]] })
    assert.deepEqual(again.stats(), { snapshotBytes: 2, chunkBytes: 2, chunkCount: 2 })
    await again.append(bytes(3))
    assert.deepEqual((await loaded(again)).chunks, [[1], [2], [3]])
  })
}
