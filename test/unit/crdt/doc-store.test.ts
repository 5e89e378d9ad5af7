import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { DocStore } from '../../../crdt/doc-store.js'
import { genesis, str } from '../../../crdt/schema.js'
import type { ChunkStore } from '../../../crdt/storage/chunk-store.js'
import { silentLogger } from '../../../node/logger.js'
import { MemoryChunkStore } from '../../../crdt/storage/memory-chunk-store.js'
import { waitFor } from '../../../scripts/lib/wait.js'
import { HoldingStore } from '../../helpers/holding-store.js'

async function reload (storage: ChunkStore): Promise<DocStore> {
  return await DocStore.open({ storage, logger: silentLogger() })
}

const title = (s: string) => (d: { plan: { title: unknown } }) => { d.plan.title = str(s) }

describe('DocStore: group commit, compaction and reload (in memory)', () => {
  it('acknowledges a write only once it is stored, and carries every write made meanwhile in the next single write', async () => {
    const storage = new HoldingStore()
    const store = await reload(storage)
    const base = storage.appends + storage.compactions
    storage.hold()
    let firstDone = false
    const first = store.change(title('one')).then(() => { firstDone = true })
    // While the first write is held, 20 more changes arrive.
    const rest = Array.from({ length: 20 }, async (_, i) => await store.change((d) => { d.plan.title = str(`w${i}`) }))
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(firstDone, false, 'acknowledged before the write finished')
    storage.letGo()
    await Promise.all([first, ...rest])
    const writes = storage.appends + storage.compactions - base
    assert.ok(writes <= 2, `21 changes took ${writes} disk writes (expected the held one plus one for the rest)`)
    const again = await reload(storage)
    assert.deepEqual(again.heads(), store.heads(), 'a reload does not hold every acknowledged change')
    assert.equal(String(again.doc.plan.title), 'w19')
  })

  it('writes nothing for a mutator that throws or changes nothing', async () => {
    const storage = new HoldingStore()
    const store = await reload(storage)
    const heads = store.heads()
    const before = storage.appends + storage.compactions
    await assert.rejects(store.change(() => { throw new Error('refused') }), /refused/)
    await store.change(() => {})
    assert.deepEqual(store.heads(), heads)
    assert.equal(storage.appends + storage.compactions, before)
  })

  it('compacts into a snapshot once the chunks pile up, and loads the same document (inline compaction)', async () => {
    const storage = new HoldingStore()
    // In the write itself; the background (worker) way is test/unit/storage/compaction.test.ts.
    const store = await DocStore.open({ storage, logger: silentLogger(), compactChunks: 5, compactInWorker: false })
    for (let i = 0; i < 12; i++) await store.change((d) => { d.plan.title = str(`t${i}`) })
    assert.ok(storage.compactions >= 2, `only ${storage.compactions} compactions for 12 writes with compactChunks 5`)
    assert.ok(storage.stats().chunkCount < 5)
    const again = await reload(storage)
    assert.deepEqual(again.heads(), store.heads())
    assert.equal(String(again.doc.plan.title), 't11')
  })

  it('stores remote changes too (after a short delay) and reports the change with its patches', async () => {
    const storage = new HoldingStore()
    const store = await DocStore.open({ storage, logger: silentLogger(), remoteFlushDelayMs: 10 })
    const peer = A.change(genesis('ab'.repeat(16)), (d) => { d.plan.title = str('from a peer') })
    const events: string[] = []
    store.on('change', (e) => { events.push(`${e.origin}:${e.patches.length > 0 ? 'patches' : 'none'}`) })
    const persisted = new Promise(resolve => store.once('persisted', resolve))
    assert.equal(store.applyRemote([A.getLastLocalChange(peer) as Uint8Array]), true)
    assert.deepEqual(events, ['remote:patches'])
    await persisted
    const again = await reload(storage)
    assert.equal(String(again.doc.plan.title), 'from a peer')
  })

  it('refuses a remote change with bad bytes without touching the document', async () => {
    const store = await reload(new MemoryChunkStore())
    const heads = store.heads()
    assert.throws(() => store.applyRemote([Uint8Array.of(1, 2, 3)]))
    assert.deepEqual(store.heads(), heads)
  })

  it('rejects the writes waiting on a failed disk write', async () => {
    const storage = new MemoryChunkStore()
    const store = await reload(storage)
    const failing: ChunkStore = storage
    failing.append = async () => { throw new Error('disk full') }
    failing.compact = async () => { throw new Error('disk full') }
    await assert.rejects(store.change(title('lost')), /disk full/)
    // Refused, not forgotten: the change is still to be written. Writes are refused until the
    // store's own retry succeeds (see doc-store-disk-full.test.ts), then the next write carries on.
    failing.append = MemoryChunkStore.prototype.append.bind(storage)
    failing.compact = MemoryChunkStore.prototype.compact.bind(storage)
    await waitFor(() => store.storageHealth().writable, 'the store to write again after the disk came back', 10_000, 10)
    await store.change(title('after the disk came back'))
    const again = await reload(storage)
    assert.deepEqual(again.heads(), store.heads())
  })
})

