import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { DocStore } from '../../../crdt/doc-store.js'
import { checkedView, staleConflicts } from '../../../crdt/materialization.js'
import { str, type FleetDoc } from '../../../crdt/schema.js'
import { silentLogger } from '../../../node/logger.js'
import { MemoryChunkStore } from '../../../crdt/storage/memory-chunk-store.js'

/**
 * A replica that shows key k = v1 receives, in one batch, v1's author deleting it and a put of v3
 * that was concurrent with the delete and lost to v1 in Automerge's order. The document then
 * holds v3; Automerge 3.5's materialized view kept showing the deleted v1 (see
 * crdt/materialization.ts). The replica must show what the document holds.
 */

type Notes = Record<string, A.ImmutableString>
const notes = (d: FleetDoc): Notes => d.alerts as unknown as Notes
const shown = (d: A.Doc<FleetDoc>): string | undefined => notes(d as FleetDoc).k?.val

async function scene (): Promise<{ store: DocStore, del: Uint8Array, concurrent: Uint8Array[], d1: A.Doc<FleetDoc>, d3: A.Doc<FleetDoc> }> {
  const store = await DocStore.open({ storage: new MemoryChunkStore(), logger: silentLogger() })
  const start = A.getAllChanges(store.doc)
  const fork = (actor: string): A.Doc<FleetDoc> => A.applyChanges(A.init<FleetDoc>({ actor }), start)[0]
  let d1 = fork('01')
  let d3 = fork('03')
  // Actor 1 writes more first, so its put's counter is higher and wins over actor 3's.
  d1 = A.change(d1, (d) => { d.alerts ??= {}; for (const k of ['p1', 'p2', 'p3']) notes(d)[k] = str(k) })
  d1 = A.change(d1, (d) => { notes(d).k = str('v1') })
  store.applyRemote(A.getChanges(store.doc, d1))
  assert.equal(shown(store.doc), 'v1')
  d1 = A.change(d1, (d) => { delete notes(d).k })
  // Actor 3 never saw v1: its put is concurrent with both v1 and the delete.
  d3 = A.change(d3, (d) => { d.alerts ??= {}; notes(d).k = str('v3') })
  return { store, del: A.getLastLocalChange(d1) as Uint8Array, concurrent: A.getChanges(A.applyChanges(A.init<FleetDoc>(), start)[0], d3), d1, d3 }
}

describe('materialized view after concurrent delete and put (Automerge batch fault)', () => {
  it('a batch of remote changes leaves the replica showing what the document holds', async () => {
    const { store, del, concurrent } = await scene()
    store.applyRemote([...concurrent, del])
    const truth = A.load<FleetDoc>(A.save(store.doc))
    assert.equal(shown(truth), 'v3', 'the document itself holds the concurrent put')
    assert.equal(shown(store.doc), 'v3', 'the replica shows the deleted value')
    assert.equal(store.materializationRepairs, 1, 'repairs counted')
    assert.deepEqual(store.heads(), A.getHeads(truth))
  })

  it('the same through the sync protocol', async () => {
    const { store, d1, d3 } = await scene()
    let source = A.merge(A.clone(d1), d3)
    let theirs = A.initSyncState()
    let ours = A.initSyncState()
    for (let round = 0; round < 10; round++) {
      let out: Uint8Array | null
      ;[theirs, out] = A.generateSyncMessage(source, theirs)
      if (out !== null) ours = store.receiveSyncMessage(ours, out)
      let back: Uint8Array | null
      ;[ours, back] = store.generateSyncMessage(ours)
      if (back !== null) [source, theirs] = A.receiveSyncMessage(source, theirs, back)
      if (out === null && back === null) break
    }
    assert.deepEqual(store.heads(), A.getHeads(source), 'sync did not finish')
    assert.equal(shown(store.doc), 'v3')
  })

  it('costs nothing when no conflict patch came: the document is kept as it is', async () => {
    const store = await DocStore.open({ storage: new MemoryChunkStore(), logger: silentLogger() })
    let patches: A.Patch[] = []
    const after = A.change(store.doc, { patchCallback: (p) => { patches = p } }, (d) => { d.alerts ??= {}; notes(d).k = str('x') })
    assert.deepEqual(staleConflicts(after, patches), [])
    assert.equal(checkedView(after, patches).doc, after)
  })
})
