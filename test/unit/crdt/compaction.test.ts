import assert from 'node:assert/strict'
import { setTimeout as delay } from 'node:timers/promises'
import * as A from '@automerge/automerge'
import { DocStore } from '../../../crdt/doc-store.js'
import { Compactor, snapshotOf } from '../../../crdt/storage/compact.js'
import { MemoryChunkStore } from '../../../crdt/storage/memory-chunk-store.js'
import { silentLogger } from '../../../node/logger.js'
import { waitFor } from '../../../scripts/lib/wait.js'

/** Snapshots made in a worker thread, in the background, while writes go on (issue 11, no loop stalls). */
describe('DocStore background compaction (worker thread)', () => {
  async function write (store: DocStore, i: number): Promise<void> {
    await store.change((d) => { d.snapshots[`s${i}`] = { id: new A.ImmutableString(`s${i}`), takenAt: i, nodeId: new A.ImmutableString('n'), summary: new A.ImmutableString('{}') } }, `write ${i}`)
  }

  it('replaces chunks with a snapshot, keeps chunks written meanwhile, and reloads to the same document', async function () {
    this.timeout(60_000)
    const storage = new MemoryChunkStore()
    const store = await DocStore.open({ storage, logger: silentLogger(), compactChunks: 4 })
    for (let i = 0; i < 6; i++) await write(store, i)
    // Writes keep being acknowledged while the worker makes the snapshot.
    const more = Array.from({ length: 30 }, (_, k) => write(store, 6 + k))
    await Promise.all(more)
    await waitFor(() => storage.stats().snapshotBytes > 0, 'a snapshot from the background compaction', 30_000)
    for (let i = 36; i < 40; i++) await write(store, i)
    await waitFor(() => storage.stats().chunkCount < 4, 'the chunks to be compacted away', 30_000)
    const heads = store.heads()
    await store.close()

    const again = await DocStore.open({ storage, logger: silentLogger(), compactChunks: 4 })
    try {
      assert.deepEqual(again.heads(), heads, 'the reloaded replica has every acknowledged write')
      assert.equal(Object.keys(again.doc.snapshots).length, 40)
    } finally {
      await again.close()
    }
  })

  it('inline compaction (compactInWorker: false) stores the same document', async () => {
    const storage = new MemoryChunkStore()
    const store = await DocStore.open({ storage, logger: silentLogger(), compactChunks: 4, compactInWorker: false })
    for (let i = 0; i < 10; i++) await write(store, i)
    assert.ok(storage.stats().snapshotBytes > 0, 'compacted in the write')
    const heads = store.heads()
    await store.close()
    const again = await DocStore.open({ storage, logger: silentLogger() })
    assert.deepEqual(again.heads(), heads)
    await again.close()
  })

  it('the worker ends when idle (its copy of the document is freed) and a later compaction starts a new one', async function () {
    this.timeout(60_000)
    const c = new Compactor({ idleMs: 50 })
    try {
      let doc = A.from<{ n: number }>({ n: 1 })
      const first = A.save(doc)
      doc = A.change(doc, (d) => { d.n = 2 })
      const chunk = A.saveIncremental(doc)
      const snap = await c.compact(first, [chunk])
      assert.deepEqual(snap, snapshotOf(first, [chunk]), 'the worker made the same snapshot as inline')
      await waitFor(() => !c.running, 'the idle worker to end', 10_000)
      const again = await c.compact(first, [chunk])
      assert.equal(A.load<{ n: number }>(again).n, 2, 'a new worker compacts after the idle one ended')
    } finally {
      await c.close()
    }
  })

  it('by default the worker ends as soon as its compaction is done: no WebAssembly memory kept between compactions', async function () {
    this.timeout(60_000)
    // A worker kept across the compactions of a growing document only grew (issue 11: 780 MB after 8).
    const c = new Compactor()
    try {
      const doc = A.from<{ n: number }>({ n: 1 })
      await c.compact(A.save(doc), [])
      // The end is scheduled when the reply arrives, before any later timer: one timer later it is done.
      await delay(5)
      assert.equal(c.running, false, 'the worker ended right after its compaction')
    } finally {
      await c.close()
    }
  })

  it('a snapshot plus chunks from several actors, some concurrent, compact to the document they load to', () => {
    let a = A.from<Record<string, number>>({ base: 0 }, { actor: 'aa' })
    let b = A.clone(a, { actor: 'bb' })
    const snapshot = A.save(a)
    const chunks: Uint8Array[] = []
    let savedA = A.getHeads(a)
    for (let i = 0; i < 5; i++) {
      a = A.change(a, (d) => { d[`a${i}`] = i; d.base = i })
      b = A.change(b, (d) => { d[`b${i}`] = i; d.base = -i })
      if (i % 2 === 1) a = A.merge(a, b)
      chunks.push(A.saveSince(a, savedA))
      savedA = A.getHeads(a)
    }
    let expected = A.load<Record<string, number>>(snapshot)
    for (const c of chunks) expected = A.loadIncremental(expected, c)
    const compacted = A.load<Record<string, number>>(snapshotOf(snapshot, chunks))
    assert.deepEqual(A.getHeads(compacted), A.getHeads(expected))
    assert.deepEqual({ ...compacted }, { ...expected })
    assert.deepEqual(A.getHeads(A.load(snapshotOf(null, [snapshot, ...chunks]))), A.getHeads(expected), 'a snapshot given as a chunk loads the same')
  })
})
