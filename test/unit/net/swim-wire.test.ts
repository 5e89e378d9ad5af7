import assert from 'node:assert/strict'
import { encode } from 'cborg'
import {
  decodeGossip, decodeSyncFrame, encodeGossip, encodeSyncFrame, MAX_RELAY_HOPS, MAX_SWIM_FRAME_BYTES, SyncFrameType, WIRE_VERSION, WireFrameError, type SwimFrame
} from '../../../crdt/wire.js'

const HEAD = 'ab'.repeat(32)

/** SWIM frames on the sync stream and membership frames on gossip: validated, size-capped. */
describe('wire: SWIM and membership frames', () => {
  it('round-trips every SWIM frame on the sync stream', () => {
    const frames: SwimFrame[] = [
      { t: 'ping', seq: 1, heads: [HEAD] },
      { t: 'ack', seq: 1, heads: [] },
      { t: 'ack', seq: 2 },
      { t: 'ping-req', seq: 3, target: 'node-b' },
      { t: 'nack', seq: 3 },
      { t: 'members', members: [{ node: 'n1', status: 'suspect', inc: 7 }, { node: 'n2', status: 'alive', inc: 1, http: null, addrs: [], heads: [HEAD], at: 5, beats: [], nbrs: ['n1'] }] },
      { t: 'relay', to: 'n1', hops: 2, acks: [{ node: 'n2', heads: [HEAD] }, { node: 'n3', heads: [] }] }
    ]
    for (const f of frames) assert.deepEqual(decodeSyncFrame(encodeSyncFrame({ type: 'swim', frame: f })), { type: 'swim', frame: f })
  })

  it('refuses malformed, unknown and oversized SWIM frames with a WireFrameError', () => {
    const raw = (body: unknown): Uint8Array => { const b = encode(body); const out = new Uint8Array(b.byteLength + 1); out[0] = SyncFrameType.swim; out.set(b, 1); return out }
    assert.throws(() => decodeSyncFrame(raw({ t: 'ping', seq: -1, heads: [] })), WireFrameError)
    assert.throws(() => decodeSyncFrame(raw({ t: 'ping', seq: 1, heads: ['nothex'] })), WireFrameError)
    assert.throws(() => decodeSyncFrame(raw({ t: 'shout', seq: 1 })), WireFrameError)
    assert.throws(() => decodeSyncFrame(raw({ t: 'members', members: [{ node: 'n', status: 'zombie', inc: 1 }] })), WireFrameError)
    assert.throws(() => decodeSyncFrame(raw({ t: 'nack', seq: 1, extra: true })), WireFrameError, 'unknown fields are refused')
    assert.throws(() => decodeSyncFrame(raw({ t: 'relay', to: 'n1', hops: MAX_RELAY_HOPS + 1, acks: [{ node: 'n2', heads: [] }] })), /hops/, 'an ack past the hop limit')
    assert.throws(() => decodeSyncFrame(raw({ t: 'relay', to: 'n1', hops: 0, acks: [] })), /acks/, 'a relay carrying no ack')
    assert.throws(() => decodeSyncFrame(raw({ t: 'relay', to: '', hops: 0, acks: [{ node: 'n2', heads: [] }] })), /to/, 'a relay to nobody')
    assert.throws(() => decodeSyncFrame(Uint8Array.of(SyncFrameType.swim, 0xff)), WireFrameError)
    const big = new Uint8Array(MAX_SWIM_FRAME_BYTES + 2)
    big[0] = SyncFrameType.swim
    assert.throws(() => decodeSyncFrame(big), /exceeds/)
  })

  it('carries membership changes as a gossip frame, and refuses a bad one', () => {
    const frame = { v: WIRE_VERSION as 1, t: 'members' as const, node: 'n1', heads: [HEAD], members: [{ node: 'n2', status: 'dead' as const, inc: 3 }] }
    assert.deepEqual(decodeGossip(encodeGossip(frame)), frame)
    assert.throws(() => decodeGossip(encode({ ...frame, members: [] })), WireFrameError, 'an empty change list is not a frame')
    assert.throws(() => decodeGossip(encode({ ...frame, members: [{ node: 'n2', status: 'dead', inc: 1.5 }] })), WireFrameError)
  })
})
