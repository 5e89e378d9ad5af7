import * as A from '@automerge/automerge'
import { encode } from 'cborg'
import { genesis } from '../../crdt/schema.js'
import { encodeGossip, encodeSyncFrame, WIRE_VERSION, type GossipFrame } from '../../crdt/wire.js'
import { FuzzRng, mutateBytes, weirdNumber, weirdString } from './fuzz.js'

/**
 * Hostile gossip and sync frames for fuzz tests. Some carry changes the target could apply (they
 * build on the shared genesis), but only inside frames the validation must refuse: speaking for
 * another node, a wrong wire version, an unknown field, a corrupted checksum. The other real
 * changes depend on a change the target never saw (so at most they wait in Automerge's queue),
 * and everything else is random or corrupted. A fuzz run can thus assert that the target's heads
 * never move, and that assertion fails if any of those checks is skipped.
 */

export interface WireCorpus {
  /** Changes (of an unrelated document) whose dependencies the target lacks. */
  orphanChanges: Uint8Array[]
  /** First-round sync messages (they carry heads and a bloom filter, no changes). */
  syncMessages: Uint8Array[]
  /** Change hashes that exist nowhere in the target. */
  foreignHeads: string[]
  /** Changes on the shared genesis: any replica would apply them if a frame carrying one got through. */
  applicableChanges: Uint8Array[]
}

/** Builds the valid material that mutations start from. */
export function wireCorpus (): WireCorpus {
  let other = A.from({ unrelated: { n: 0 } })
  const orphanChanges: Uint8Array[] = []
  for (let i = 1; i <= 4; i++) {
    other = A.change(other, (d) => { (d.unrelated as { n: number }).n = i })
    orphanChanges.push(A.getLastLocalChange(other) as Uint8Array)
  }
  // The first change of `other` (A.from's) is never sent, so none of these can be applied.
  const syncMessages: Uint8Array[] = []
  for (const doc of [genesis(), other, A.init<unknown>()]) {
    const [, msg] = A.generateSyncMessage(doc, A.initSyncState())
    if (msg !== null) syncMessages.push(msg)
  }
  let fleet = genesis('ee'.repeat(16))
  const applicableChanges: Uint8Array[] = []
  for (let i = 1; i <= 3; i++) {
    fleet = A.change(fleet, (d) => { d.plan.title = new A.ImmutableString(`written by a hostile frame ${i}`) })
    applicableChanges.push(A.getLastLocalChange(fleet) as Uint8Array)
  }
  return { orphanChanges, syncMessages, foreignHeads: A.getHeads(other), applicableChanges }
}

/** A real, applicable change in a frame that must be refused, in one of the ways validation refuses. */
function refusedButApplicable (rng: FuzzRng, corpus: WireCorpus, node: string): Uint8Array {
  const frame = { v: WIRE_VERSION, t: 'changes', node, heads: [rng.pick(corpus.foreignHeads)], changes: [corpus.applicableChanges[0] as Uint8Array] }
  switch (rng.int(4)) {
    case 0: return encode({ ...frame, node: '12D3KooW' + Buffer.from(rng.bytes(22)).toString('hex') }) // speaking for another node
    case 1: return encode({ ...frame, v: WIRE_VERSION + 1 })
    case 2: return encode({ ...frame, extra: true })
    default: { // one byte of the checksum flipped: Automerge would still apply it
      const c = new Uint8Array(corpus.applicableChanges[0] as Uint8Array)
      const at = 4 + rng.int(4)
      c[at] = (c[at] ?? 0) ^ (1 + rng.int(255))
      return encode({ ...frame, changes: [c] })
    }
  }
}

/** A frame that passes schema validation (if `node` is the signer), to be mutated. */
function baseGossip (rng: FuzzRng, corpus: WireCorpus, node: string): GossipFrame {
  if (rng.chance(0.5)) {
    return { v: WIRE_VERSION, t: 'changes', node, heads: [rng.pick(corpus.foreignHeads)], changes: [rng.pick(corpus.orphanChanges)] }
  }
  return {
    v: WIRE_VERSION,
    t: 'announce',
    node,
    heads: [rng.pick(corpus.foreignHeads)],
    at: Date.now(),
    http: 'http://127.0.0.1:9',
    // Only loopback: an accepted announcement makes the target dial these addresses.
    addrs: ['/ip4/127.0.0.1/tcp/9'],
    beats: []
  }
}

/** A structural mutation of a frame object: fields retyped, dropped, oversized, or unknown. */
function mutateFrameObject (rng: FuzzRng, frame: Record<string, unknown>): Record<string, unknown> {
  const f: Record<string, unknown> = { ...frame }
  const key = rng.pick([...Object.keys(f), 'extra'])
  switch (rng.int(10)) {
    case 0: delete f[key]; break
    case 1: f[key] = weirdString(rng); break
    case 2: f[key] = weirdNumber(rng); break
    case 3: f[key] = null; break
    case 4: f[key] = rng.bytes(rng.int(64)); break
    case 5: f.heads = Array.from({ length: rng.pick([257, 1000]) }, () => 'a'.repeat(64)); break
    case 6: f.changes = rng.chance(0.5) ? [] : Array.from({ length: rng.range(2, 50) }, () => mutateBytes(rng, rng.pick([...(f.changes as Uint8Array[] ?? [rng.bytes(16)])]))); break
    case 7: f.v = rng.pick([0, 2, '1', 1.5]); break
    case 8: f.t = rng.pick(['change', 'announce ', 'sync', '', 7]); break
    default: f.beats = [{ id: weirdString(rng), at: weirdNumber(rng), assignment: weirdString(rng), status: weirdString(rng), x: 1 }]
  }
  return f
}

/** CBOR the strict decoder must refuse: non-canonical forms, tags, undefined, deep nesting. */
function oddCbor (rng: FuzzRng): Uint8Array {
  switch (rng.int(7)) {
    case 0: return Uint8Array.of(0x9f, 0x01, 0x02, 0xff) // indefinite-length array
    case 1: return Uint8Array.of(0xa2, 0x61, 0x76, 0x01, 0x61, 0x76, 0x02) // duplicate map key
    case 2: return Uint8Array.of(0xf7) // undefined
    case 3: return Uint8Array.of(0xc1, 0x1a, 0x5f, 0x00, 0x00, 0x00) // tag 1 (date)
    case 4: { // 10,000 nested arrays
      const depth = 10_000
      const out = new Uint8Array(depth + 1)
      out.fill(0x81, 0, depth)
      out[depth] = 0x01
      return out
    }
    case 5: return Uint8Array.of(0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff) // byte string claiming 2^64 bytes
    default: return encode(rng.pick([[], 1, 'announce', { v: 1 }, [{ v: 1, t: 'changes' }]]))
  }
}

/**
 * One hostile gossip payload. `node` is the publisher's own peer id, so frames that keep their
 * structure get as far as the checks that need a signer (node must be the signer).
 */
export function hostileGossip (rng: FuzzRng, corpus: WireCorpus, node: string): Uint8Array {
  switch (rng.int(7)) {
    case 6: return refusedButApplicable(rng, corpus, node)
    case 0: return rng.bytes(rng.int(2048))
    case 1: return mutateBytes(rng, encodeGossip(baseGossip(rng, corpus, node)))
    case 2: return encode(mutateFrameObject(rng, baseGossip(rng, corpus, node) as unknown as Record<string, unknown>))
    case 3: return oddCbor(rng)
    case 4: { // a well-formed frame carrying corrupted change bytes
      const f = baseGossip(rng, corpus, node)
      return encodeGossip({ v: WIRE_VERSION, t: 'changes', node, heads: f.heads, changes: [mutateBytes(rng, rng.pick(corpus.orphanChanges))] })
    }
    default: // speaking for another node
      return encodeGossip(baseGossip(rng, corpus, '12D3KooW' + weirdString(rng).slice(0, 40)))
  }
}

/** One hostile sync-stream frame (the payload inside the length prefix). */
export function hostileSyncFrame (rng: FuzzRng, corpus: WireCorpus): Uint8Array {
  switch (rng.int(6)) {
    case 0: return rng.bytes(rng.range(1, 2048))
    case 1: return Uint8Array.of(rng.pick([0, 1, 2, 3, 0x7f, 0xff]))
    case 2: return Uint8Array.of(2, ...rng.bytes(rng.range(1, 8))) // reset with a payload
    case 3: return encodeSyncFrame({ type: 'sync', message: mutateBytes(rng, rng.pick(corpus.syncMessages)) })
    case 4: return Uint8Array.of(rng.pick([0, 3, 9]), ...rng.pick(corpus.syncMessages)) // unknown frame type
    default: return encodeSyncFrame({ type: 'sync', message: rng.bytes(rng.range(1, 512)) })
  }
}
