import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { DocStore } from '../../../crdt/doc-store.js'
import { SyncSession } from '../../../crdt/sync/session.js'
import { changeBytesProblem, decodeGossip, WireFrameError } from '../../../crdt/wire.js'
import { silentLogger } from '../../../node/logger.js'
import { FuzzRng, fuzzSeed } from '../../../scripts/lib/fuzz.js'
import { hostileGossip, hostileSyncFrame, wireCorpus } from '../../../scripts/lib/fuzz-wire.js'
import { MemoryChunkStore } from '../../../crdt/storage/memory-chunk-store.js'

const SIGNER = '12D3KooWFuzzSignerPeerId'
const CASES = 10_000

describe('wire decoding under fuzzing (in process)', function () {
  this.timeout(60_000)
  const seed = fuzzSeed()
  let store: DocStore

  before(async () => {
    // eslint-disable-next-line no-console -- the seed is how a failure is replayed
    console.log(`      wire fuzz seed ${seed} (replay: FLEET_FUZZ_SEED=${seed})`)
    store = await DocStore.open({ storage: new MemoryChunkStore(), logger: silentLogger() })
    await store.change((d) => { d.plan.title = new A.ImmutableString('fuzz target') }, 'a first write')
  })
  after(async () => { await store.close() })

  it(`rejects ${CASES} hostile gossip payloads with WireFrameError and never moves the heads`, () => {
    const rng = new FuzzRng(seed)
    const corpus = wireCorpus()
    const heads = store.heads().join()
    let accepted = 0
    for (let i = 0; i < CASES; i++) {
      const bytes = hostileGossip(rng, corpus, SIGNER)
      let frame
      try {
        frame = decodeGossip(bytes)
      } catch (err) {
        assert.ok(err instanceof WireFrameError, `case ${i}: ${(err as Error).name}: ${(err as Error).message}`)
        continue
      }
      // The replicator's validator also refuses a frame that speaks for another node than its signer.
      if (frame.node !== SIGNER) continue
      accepted++
      if (frame.t === 'changes') {
        try { store.applyRemote(frame.changes) } catch { /* counted as rejected by the replicator */ }
      }
    }
    assert.equal(store.heads().join(), heads, 'a hostile gossip frame changed the document')
    // Only mutations that keep a valid shape (orphan changes, loopback announcements) get through.
    assert.ok(accepted < CASES / 10, `${accepted} of ${CASES} hostile frames passed validation`)
    // eslint-disable-next-line no-console -- how much of the fuzzing got past the schema
    console.log(`      ${accepted} of ${CASES} hostile gossip frames passed validation (valid shapes); none changed the document`)
  })

  it(`survives ${CASES} hostile sync frames: each is refused or answered, and the heads never move`, async () => {
    const rng = new FuzzRng(seed ^ 0x5a5a5a5a)
    const corpus = wireCorpus()
    const heads = store.heads().join()
    const sent: Uint8Array[] = []
    const session = new SyncSession({ store, send: (f) => { sent.push(f) } })
    let refused = 0
    for (let i = 0; i < CASES; i++) {
      try {
        session.receive(hostileSyncFrame(rng, corpus))
      } catch (err) {
        assert.ok(err instanceof WireFrameError, `case ${i}: ${(err as Error).name}: ${(err as Error).message}`)
        refused++
      }
    }
    assert.equal(store.heads().join(), heads, 'a hostile sync frame changed the document')
    assert.ok(refused > CASES / 2, `only ${refused} of ${CASES} hostile sync frames were refused`)
    // The replica is still writable and the session still works after all that.
    await store.change((d) => { d.plan.title = new A.ImmutableString('after the garbage') })
    assert.notEqual(store.heads().join(), heads)
    sent.length = 0
    session.requestReset()
    assert.ok(sent.length >= 1, 'the session no longer speaks after the fuzzing')
  })

  it('refuses every single-bit corruption of a real change (Automerge alone would apply some)', () => {
    let doc = A.from({ x: { title: new A.ImmutableString('hello') } })
    doc = A.change(doc, (d) => { d.x.title = new A.ImmutableString('world') })
    const change = A.getLastLocalChange(doc) as Uint8Array
    assert.equal(changeBytesProblem(change), null)
    for (let at = 0; at < change.byteLength; at++) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = Uint8Array.from(change)
        bad[at] = (bad[at] as number) ^ (1 << bit)
        assert.notEqual(changeBytesProblem(bad), null, `flip of bit ${bit} at byte ${at} went unnoticed`)
      }
    }
    assert.match(changeBytesProblem(change.subarray(0, change.byteLength - 1)) ?? '', /declares/)
    assert.match(changeBytesProblem(A.save(doc)) ?? '', /not a change/)
  })
})
