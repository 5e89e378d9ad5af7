import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { DocStore } from '../../../crdt/doc-store.js'
import { str, type FleetDoc } from '../../../crdt/schema.js'
import { MemoryChunkStore } from '../../../crdt/storage/memory-chunk-store.js'
import { silentLogger } from '../../../node/logger.js'

async function open (storage = new MemoryChunkStore()): Promise<DocStore> {
  return await DocStore.open({ storage, logger: silentLogger() })
}

/** Local changes the store emitted while `run` ran. */
async function changesDuring (store: DocStore, run: () => Promise<unknown>): Promise<number> {
  let n = 0
  const count = (e: { origin: string }): void => { if (e.origin === 'local') n++ }
  store.on('change', count)
  try {
    await run()
  } finally {
    store.off('change', count)
  }
  return n
}

const setEpic = (id: string, title: string) => (d: FleetDoc): string => {
  d.epics[id] = { id: str(id), title: str(title), role: null, order: 0 }
  return id
}

describe('DocStore.groupChange: the writes of one turn share one change', () => {
  it('joins concurrent writes into one change, gives each caller its result, and keeps them on disk', async () => {
    const storage = new MemoryChunkStore()
    const store = await open(storage)
    const before = A.getAllChanges(store.doc).length
    let results: string[] = []
    const emitted = await changesDuring(store, async () => {
      results = await Promise.all(Array.from({ length: 10 }, async (_, i) => await store.groupChange(setEpic(`E${i}`, `epic ${i}`), `epic ${i}`)))
    })
    assert.deepEqual(results, Array.from({ length: 10 }, (_, i) => `E${i}`), 'each caller gets its own mutator result')
    assert.equal(emitted, 1, 'ten writes of one turn emitted one local change')
    assert.equal(A.getAllChanges(store.doc).length - before, 1, 'ten writes of one turn are one Automerge change')
    assert.deepEqual(store.localWrites, { writes: 10, changes: 1 }, 'the counters behind fleet_local_writes_total and fleet_local_changes_total')
    const again = await open(storage)
    assert.deepEqual(Object.keys(again.doc.epics).sort(), Array.from({ length: 10 }, (_, i) => `E${i}`).sort(), 'every acknowledged write is on disk')
  })

  it('refuses only the write whose mutator throws; the others are applied exactly once', async () => {
    const store = await open()
    let runs = 0
    const counted = (d: FleetDoc): void => {
      runs++
      d.plan.title = str(`${String(d.plan.title)}+`)
    }
    const outcomes = await Promise.allSettled([
      store.groupChange(counted),
      store.groupChange(() => { throw new Error('refused: the second write') }),
      store.groupChange(setEpic('E1', 'kept')),
      store.groupChange(() => { throw new Error('refused: the fourth write') })
    ])
    assert.deepEqual(outcomes.map(o => o.status), ['fulfilled', 'rejected', 'fulfilled', 'rejected'])
    assert.match(String((outcomes[1] as PromiseRejectedResult).reason), /the second write/)
    assert.match(String((outcomes[3] as PromiseRejectedResult).reason), /the fourth write/)
    assert.equal(String(store.doc.plan.title).endsWith('+') && !String(store.doc.plan.title).endsWith('++'), true, `the first write applied once, not once per re-run (title ${String(store.doc.plan.title)}, mutator ran ${runs} times)`)
    assert.equal(String(store.doc.epics.E1?.title), 'kept')
  })

  it('applies grouped writes before a later immediate change, so writes keep their order', async () => {
    const store = await open()
    const grouped = store.groupChange((d) => { d.plan.title = str('grouped (made first)') })
    // An immediate change made after the grouped one, in the same turn.
    store.changeNow((d) => { d.plan.title = str('immediate (made second)') })
    await grouped
    assert.equal(String(store.doc.plan.title), 'immediate (made second)')
  })

  it('saves writes still queued when the store closes', async () => {
    const storage = new MemoryChunkStore()
    const store = await open(storage)
    const queued = store.groupChange(setEpic('E9', 'queued at close'))
    await store.close()
    await queued
    const again = await open(storage)
    assert.equal(String(again.doc.epics.E9?.title), 'queued at close')
  })
})
