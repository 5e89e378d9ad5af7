import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { DocStore } from '../../../crdt/doc-store.js'
import type { StorageHealth } from '../../../crdt/storage/write-failures.js'
import { genesis } from '../../../crdt/schema.js'
import { StorageUnavailableError } from '../../../crdt/storage/errors.js'
import { silentLogger } from '../../../node/logger.js'
import { waitFor } from '../../../scripts/lib/wait.js'
import { diskFullError, MemoryChunkStore } from '../../../crdt/storage/memory-chunk-store.js'

const title = (s: DocStore): string => String(s.doc.plan.title ?? '')

describe('DocStore when the disk is full', () => {
  let mem: MemoryChunkStore
  let store: DocStore
  const events: StorageHealth[] = []

  beforeEach(async () => {
    mem = new MemoryChunkStore()
    store = await DocStore.open({ storage: mem, logger: silentLogger(), retryMinMs: 5, retryMaxMs: 20 })
    events.length = 0
    store.on('storage', (h) => { events.push(h) })
  })
  afterEach(async () => { await store.close() })

  it('rejects the write whose disk write failed, refuses new writes unchanged, and saves everything once the disk works again', async () => {
    await store.change((d) => { d.plan.title = new A.ImmutableString('acknowledged') })
    mem.failWith = diskFullError()

    const failed = await store.change((d) => { d.plan.id = new A.ImmutableString('not acknowledged') }).then(() => null, (err: unknown) => err)
    assert.ok(failed instanceof StorageUnavailableError, `expected StorageUnavailableError, got ${String(failed)}`)
    assert.equal(failed.code, 'STORAGE_UNAVAILABLE')
    assert.equal(failed.kind, 'disk-full')
    assert.match(failed.message, /disk full: IO error: .*No space left on device/)
    assert.equal(store.storageHealth().writable, false)

    // While degraded a write is refused before it touches the document: nothing half-done.
    const heads = store.heads().join()
    await assert.rejects(store.change((d) => { d.plan.title = new A.ImmutableString('refused') }), StorageUnavailableError)
    assert.equal(store.heads().join(), heads)
    assert.equal(title(store), 'acknowledged')

    // Remote changes still apply in memory (their authors hold them on disk).
    const remote = A.change(A.clone(genesis(), { actor: 'ab'.repeat(16) }), (d) => { d.plan.digest = new A.ImmutableString('from a peer') })
    assert.equal(store.applyRemote(A.getChanges(genesis(), remote)), true)

    await waitFor(() => mem.failedWrites >= 3, 'the store to retry the failed disk write a few times', 5000, 5)
    mem.failWith = null
    await waitFor(() => store.storageHealth().writable, 'the store to recover by itself once writes work', 5000, 5)
    assert.deepEqual(events.map(e => e.writable), [false, true])
    await store.change((d) => { d.plan.title = new A.ImmutableString('after recovery') })

    // Everything the replica held is on "disk", including the unacknowledged change that was retried.
    const reloaded = await DocStore.open({ storage: mem, logger: silentLogger() })
    assert.equal(String(reloaded.doc.plan.title), 'after recovery')
    assert.equal(String(reloaded.doc.plan.id), 'not acknowledged')
    assert.equal(String(reloaded.doc.plan.digest), 'from a peer')
    assert.equal(reloaded.heads().join(), store.heads().join())
    await reloaded.close()
  })

  it('does not open a replica it cannot write, and closes without hanging while degraded', async () => {
    const full = new MemoryChunkStore()
    full.failWith = diskFullError()
    await assert.rejects(DocStore.open({ storage: full, logger: silentLogger() }), (err: unknown) => err instanceof StorageUnavailableError && err.kind === 'disk-full')

    mem.failWith = new Error('IO error: /data/db/000005.ldb: Input/output error')
    await assert.rejects(store.change((d) => { d.plan.title = new A.ImmutableString('x') }), (err: unknown) => err instanceof StorageUnavailableError && err.kind === 'io-error')
    await store.close()
    assert.equal(store.storageHealth().writable, false, 'the last save at close failed too')
  })
})
