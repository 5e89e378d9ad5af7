import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { ChangeGroup } from '../../../crdt/change-group.js'
import { DocStore } from '../../../crdt/doc-store.js'
import { str, type FleetDoc } from '../../../crdt/schema.js'
import { diskFullError, MemoryChunkStore } from '../../../crdt/storage/memory-chunk-store.js'
import { StorageUnavailableError } from '../../../crdt/storage/errors.js'
import { silentLogger } from '../../../node/logger.js'
import { waitFor } from '../../../scripts/lib/wait.js'
import { HoldingStore } from '../../helpers/holding-store.js'

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

/** The next turn of the event loop (a write arriving later, as the next HTTP request does). */
async function nextTurn (): Promise<void> {
  await new Promise(resolve => setImmediate(resolve))
}

/** Tracks which of the given writes have settled (resolved or rejected) so far. */
function settled<T> (writes: Array<Promise<T>>): { done: boolean[], all: Promise<Array<PromiseSettledResult<T>>> } {
  const done = writes.map(() => false)
  writes.forEach((w, i) => { w.then(() => { done[i] = true }, () => { done[i] = true }) })
  return { done, all: Promise.allSettled(writes) }
}

describe('DocStore.groupChange across turns: writes arriving while a disk write is in flight share the next change', () => {
  it('holds them until the write in flight ends, makes them one change, and acknowledges none before it is stored', async () => {
    const storage = new HoldingStore()
    const store = await open(storage)
    const before = A.getAllChanges(store.doc).length
    storage.hold()
    const inFlight = store.change((d) => { d.plan.title = str('in flight') })
    // Eight writers, each arriving in its own turn while that write is held.
    const writes: Array<Promise<string>> = []
    for (let i = 0; i < 8; i++) {
      writes.push(store.groupChange(setEpic(`E${i}`, `epic ${i}`), `epic ${i}`))
      await nextTurn()
    }
    const acks = settled(writes)
    assert.equal(Object.keys(store.doc.epics).filter(k => k.startsWith('E')).length, 0, 'queued writes wait for the disk write in flight, not for the end of their turn')
    assert.ok(acks.done.every(d => !d), 'no queued write acknowledged before its change exists')
    const appendsBefore = storage.appends
    // Let the first write finish, and hold the next one (the group's) to see when acks come.
    storage.letGo()
    storage.hold()
    await inFlight
    await waitFor(() => storage.appends > appendsBefore, 'the grouped change\'s disk write to start', 10_000, 5)
    assert.equal(Object.keys(store.doc.epics).filter(k => k.startsWith('E')).length, 8, 'the eight queued writes were applied together once the disk was free')
    await nextTurn()
    assert.ok(acks.done.every(d => !d), 'a grouped write was acknowledged before its disk write finished')
    storage.letGo()
    const outcomes = await acks.all
    assert.deepEqual(outcomes.map(o => o.status === 'fulfilled' ? o.value : o.reason), Array.from({ length: 8 }, (_, i) => `E${i}`), 'each caller gets its own result')
    assert.equal(A.getAllChanges(store.doc).length - before, 2, 'the held write and one change for the eight writes that queued behind it')
    assert.deepEqual(store.localWrites, { writes: 9, changes: 2 })
    const again = await open(storage)
    assert.deepEqual(Object.keys(again.doc.epics).filter(k => k.startsWith('E')).sort(), Array.from({ length: 8 }, (_, i) => `E${i}`), 'every acknowledged write is on disk')
  })

  it('keeps the order of writes from different turns, and refuses only the one that throws', async () => {
    const storage = new HoldingStore()
    const store = await open(storage)
    storage.hold()
    const inFlight = store.change((d) => { d.plan.title = str('in flight') })
    const ran: string[] = []
    const titled = (t: string) => (d: FleetDoc): string => { ran.push(t); d.plan.title = str(t); return t }
    const writes: Array<Promise<string>> = []
    for (const t of ['a', 'b', 'refused', 'c']) {
      writes.push(store.groupChange(t === 'refused' ? () => { throw new Error('refused: the third write') } : titled(t)))
      await nextTurn()
    }
    storage.letGo()
    await inFlight
    const outcomes = await Promise.allSettled(writes)
    assert.deepEqual(outcomes.map(o => o.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
    assert.match(String((outcomes[2] as PromiseRejectedResult).reason), /the third write/)
    assert.equal(String(store.doc.plan.title), 'c', 'the last write made is the one that shows')
    // The group ran once with the refused write, then again without it: a, b, then a, b, c.
    assert.deepEqual(ran, ['a', 'b', 'a', 'b', 'c'], 'writes applied in the order they were made')
    assert.deepEqual(store.localWrites, { writes: 4, changes: 2 }, 'the three accepted writes are one change')
  })

  it('refuses queued writes unchanged when the disk write they waited for fails', async () => {
    const storage = new HoldingStore()
    const store = await open(storage)
    storage.hold()
    const inFlight = store.change((d) => { d.plan.title = str('in flight') })
    const queued = store.groupChange(setEpic('E1', 'queued behind a failing write'))
    await nextTurn()
    storage.failWith = diskFullError()
    storage.letGo()
    const [first, second] = await Promise.allSettled([inFlight, queued])
    assert.equal(first?.status, 'rejected', 'the failed write is not acknowledged')
    assert.equal(second?.status, 'rejected', 'the write queued behind it is refused')
    assert.ok((second as PromiseRejectedResult).reason instanceof StorageUnavailableError, `refused with the storage failure (got ${String((second as PromiseRejectedResult).reason)})`)
    assert.equal(store.doc.epics.E1, undefined, 'a refused write changed nothing')
    storage.failWith = null
    await store.close()
  })

  it('applies and saves writes still queued behind a disk write when the store closes', async () => {
    const storage = new HoldingStore()
    const store = await open(storage)
    storage.hold()
    const inFlight = store.change((d) => { d.plan.title = str('in flight') })
    const queued = store.groupChange(setEpic('E9', 'queued at close'))
    await nextTurn()
    const closing = store.close()
    storage.letGo()
    await Promise.all([inFlight, queued, closing])
    const again = await open(storage)
    assert.equal(String(again.doc.epics.E9?.title), 'queued at close')
  })
})

describe('ChangeGroup.release: the next group waits for the writers that were active', () => {
  /** A group over a fake store whose disk is `busy` while the test says so; records each change's size. */
  function fakeStore (lingerMs: number): { group: ChangeGroup, changes: number[], disk: { busy: boolean } } {
    const changes: number[] = []
    const disk = { busy: false }
    const group = new ChangeGroup({ apply: (mutate, _message, writes) => { mutate({} as unknown as FleetDoc); changes.push(writes) }, busy: () => disk.busy, lingerMs })
    return { group, changes, disk }
  }

  it('lingers until as many writes are queued as were active during the last disk write, then makes them one change', async () => {
    const { group, changes, disk } = fakeStore(60_000)
    let saved!: () => void
    const onDisk = new Promise<void>(resolve => { saved = resolve })
    // Four writers; their change is applied at the end of the turn, then its disk write starts.
    const cohortA = [0, 1, 2, 3].map(async i => await group.add(() => i, undefined, async () => { await onDisk }))
    await nextTurn()
    assert.deepEqual(changes, [4])
    disk.busy = true
    // Two more writers arrive during the disk write: six were active at once.
    const early = [4, 5].map(async i => await group.add(() => i))
    await nextTurn()
    // The write ends: the first four are acknowledged and will send their next writes.
    saved()
    disk.busy = false
    group.release()
    assert.deepEqual(await Promise.all(cohortA), [0, 1, 2, 3])
    await nextTurn()
    assert.deepEqual(changes, [4], 'two queued writes of six active ones did not start a change of their own')
    const returning = [6, 7, 8, 9].map(async i => await group.add(() => i))
    assert.deepEqual(await Promise.all([...early, ...returning]), [4, 5, 6, 7, 8, 9], 'each caller gets its own result, in order')
    assert.deepEqual(changes, [4, 6], 'the returning writers joined the two that waited: one change of six')
  })

  it('gives up waiting after lingerMs, and never waits for a lone writer', async () => {
    const { group, changes, disk } = fakeStore(30)
    // A lone sequential writer: applied at the end of its turn, busy or not afterwards.
    assert.equal(await group.add(() => 'lone'), 'lone')
    assert.deepEqual(changes, [1])
    disk.busy = true
    const a = group.add(() => 'a')
    const b = group.add(() => 'b')
    await nextTurn()
    disk.busy = false
    group.release()
    // Two were active and two are queued: no waiting.
    assert.deepEqual(await Promise.all([a, b]), ['a', 'b'])
    assert.deepEqual(changes, [1, 2])
    // Three writers active during a disk write, all three queued: no waiting either.
    disk.busy = true
    const c = group.add(() => 'c')
    const d = group.add(() => 'd')
    const gone = group.add(() => 'gone')
    await nextTurn()
    disk.busy = false
    group.release()
    assert.deepEqual(await Promise.all([c, d, gone]), ['c', 'd', 'gone'])
    assert.deepEqual(changes, [1, 2, 3])
    // Only one of those three writers comes back: it waits for the others at most lingerMs.
    disk.busy = true
    const e = group.add(() => 'e')
    await nextTurn()
    disk.busy = false
    group.release()
    const started = performance.now()
    assert.equal(await e, 'e')
    assert.deepEqual(changes, [1, 2, 3, 1])
    assert.ok(performance.now() - started >= 25, 'the write waited for the linger (one of three writers came back)')
  })
})
