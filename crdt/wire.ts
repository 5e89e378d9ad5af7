import { createHash } from 'node:crypto'
import { decode, encode } from 'cborg'
import { z } from 'zod'

/**
 * Frames that cross the network. Everything received is untrusted: sizes are checked before
 * decoding, CBOR is decoded with tight limits, and the result is validated with zod before use.
 */

export const WIRE_VERSION = 1
/** A gossip message carries a burst of small changes; bigger bursts are left to sync. */
export const MAX_GOSSIP_FRAME_BYTES = 1024 * 1024
/** A sync message can carry a whole document to a late joiner. */
export const MAX_SYNC_FRAME_BYTES = 32 * 1024 * 1024
export const MAX_HEADS = 256
export const MAX_CHANGES_PER_FRAME = 10_000

const hash = z.string().regex(/^[0-9a-f]{64}$/, 'a change hash is 64 hex characters')
const heads = z.array(hash).max(MAX_HEADS)
const nodeId = z.string().min(1).max(128)

const CHUNK_MAGIC = [0x85, 0x6f, 0x4a, 0x83] as const
const CHUNK_CHANGE = 1
const CHUNK_COMPRESSED_CHANGE = 2

/**
 * Why bytes are not one encoded Automerge change, or null if they are: magic bytes, chunk type,
 * declared length, and (for plain changes) the header checksum. Automerge itself does not check
 * the checksum, so a corrupted change that still parses would otherwise be applied as if it
 * were real; this also rejects garbage in the gossip validator, before it is forwarded.
 */
export function changeBytesProblem (b: Uint8Array): string | null {
  if (b.byteLength < 10) return 'too short for an Automerge change'
  for (let i = 0; i < CHUNK_MAGIC.length; i++) if (b[i] !== CHUNK_MAGIC[i]) return 'not an Automerge chunk (magic bytes)'
  const type = b[8]
  if (type !== CHUNK_CHANGE && type !== CHUNK_COMPRESSED_CHANGE) return `Automerge chunk of type ${String(type)} is not a change`
  // Body length: unsigned LEB128, at most 5 bytes for any frame we accept.
  let len = 0
  let at = 9
  for (let shift = 0; ; shift += 7) {
    if (at >= b.byteLength || shift > 28) return 'truncated chunk length'
    const byte = b[at++] as number
    len += (byte & 0x7f) * 2 ** shift
    if ((byte & 0x80) === 0) break
  }
  if (at + len !== b.byteLength) return `chunk declares ${len} bytes but carries ${b.byteLength - at}`
  // A compressed change's checksum covers the uncompressed bytes; Automerge checks its inflation.
  if (type === CHUNK_CHANGE) {
    const sum = createHash('sha256').update(b.subarray(8)).digest()
    for (let i = 0; i < 4; i++) if (sum[i] !== b[4 + i]) return 'change checksum mismatch'
  }
  return null
}

const changeBytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected bytes').superRefine((v, ctx) => {
  if (!(v instanceof Uint8Array)) return // already reported by the custom check
  const problem = changeBytesProblem(v)
  if (problem !== null) ctx.addIssue({ code: 'custom', message: problem })
})

/** What every gossip frame carries: the wire version, its publisher and the publisher's heads (acks, anti-entropy). */
const gossipHeader = { v: z.literal(WIRE_VERSION), node: nodeId, heads }

export const ChangesFrame = z.object({
  ...gossipHeader,
  t: z.literal('changes'),
  changes: z.array(changeBytes).min(1).max(MAX_CHANGES_PER_FRAME)
}).strict()
export type ChangesFrame = z.infer<typeof ChangesFrame>

export const AgentBeat = z.object({
  id: z.string().min(1).max(128),
  at: z.number().int().nonnegative(),
  /** Assignment the agent is working on, so every node can renew its lease. */
  assignment: z.string().max(128).nullable(),
  status: z.string().max(64)
}).strict()
export type AgentBeat = z.infer<typeof AgentBeat>

/** Neighbours one node announces: its sessions, bounded by --max-peers plus the inbound ones. */
export const MAX_ANNOUNCED_NEIGHBOURS = 256

/** Ephemeral presence: never stored in the document, so it costs no history. */
export const AnnounceFrame = z.object({
  ...gossipHeader,
  t: z.literal('announce'),
  at: z.number().int().nonnegative(),
  http: z.string().max(256).nullable(),
  addrs: z.array(z.string().max(512)).max(32),
  beats: z.array(AgentBeat).max(1024),
  /** The node has a git clone and may lead the merge queue. */
  merger: z.boolean().optional(),
  /** Its SWIM incarnation (crdt/rules/swim.ts): an announcement is its alive statement at it. */
  inc: z.number().int().nonnegative().optional(),
  /** The peers it holds sessions with: the overlay's links, which acks are routed over (node/net/ack-routes.ts). */
  nbrs: z.array(nodeId).max(MAX_ANNOUNCED_NEIGHBOURS).optional()
}).strict()
export type AnnounceFrame = z.infer<typeof AnnounceFrame>

/** Members carried by one membership frame (the push-pull on connect lists every member). */
export const MAX_MEMBERS_PER_FRAME = 4096
/** A SWIM frame on a neighbour's channel: a probe is tiny; a member list is the big one. */
export const MAX_SWIM_FRAME_BYTES = 4 * 1024 * 1024

/**
 * What one node holds about a member (node/net/membership.ts): its SWIM statement and, while it
 * is alive, its presence (addresses, HTTP URL, merger flag, last known heads and agents' beats).
 */
export const MemberEntry = z.object({
  node: nodeId,
  status: z.enum(['alive', 'suspect', 'dead', 'left']),
  inc: z.number().int().nonnegative(),
  http: z.string().max(256).nullable().optional(),
  addrs: z.array(z.string().max(512)).max(8).optional(),
  merger: z.boolean().optional(),
  heads: heads.optional(),
  /** The member's clock when it last announced (beats' ages are relative to it). */
  at: z.number().int().nonnegative().optional(),
  beats: z.array(AgentBeat).max(1024).optional(),
  nbrs: z.array(nodeId).max(MAX_ANNOUNCED_NEIGHBOURS).optional()
}).strict()
export type MemberEntry = z.infer<typeof MemberEntry>

/** Membership changes, gossiped only when something changed (a suspicion, a death, a departure, news from a push-pull). */
export const MembersFrame = z.object({
  ...gossipHeader,
  t: z.literal('members'),
  members: z.array(MemberEntry).min(1).max(MAX_MEMBERS_PER_FRAME)
}).strict()
export type MembersFrame = z.infer<typeof MembersFrame>

export const GossipFrame = z.discriminatedUnion('t', [ChangesFrame, AnnounceFrame, MembersFrame])
export type GossipFrame = z.infer<typeof GossipFrame>

export class WireFrameError extends Error {
  override name = 'WireFrameError'
}

export function encodeGossip (frame: GossipFrame): Uint8Array {
  return encode(frame)
}

/**
 * Untrusted bytes to a frame: size cap first, then strict CBOR (no duplicate keys, no maps), then
 * the schema; each failure is a WireFrameError naming the kind of frame and why.
 */
function decodeFrame<T extends z.ZodType> (kind: string, bytes: Uint8Array, maxBytes: number, schema: T): z.infer<T> {
  if (bytes.byteLength > maxBytes) throw new WireFrameError(`${kind} frame of ${bytes.byteLength} bytes exceeds ${maxBytes}`)
  let raw: unknown
  try {
    raw = decode(bytes, { strict: true, rejectDuplicateMapKeys: true, useMaps: false })
  } catch (err) {
    throw new WireFrameError(`${kind} frame is not valid CBOR: ${(err as Error).message}`)
  }
  const parsed = schema.safeParse(raw)
  if (!parsed.success) throw new WireFrameError(`${kind} frame rejected: ${parsed.error.issues.map(i => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`)
  return parsed.data
}

export function decodeGossip (bytes: Uint8Array): GossipFrame {
  return decodeFrame('gossip', bytes, MAX_GOSSIP_FRAME_BYTES, GossipFrame)
}

/**
 * Sync stream frames: one type byte, then the payload. `heads` carries the sender's heads (32-byte
 * hashes, concatenated): the direct acknowledgement a node sends a claiming peer (see
 * node/net/membership.ts), in order with the sync messages on the same authenticated stream.
 */
export const SyncFrameType = { sync: 1, reset: 2, heads: 3, swim: 4 } as const
export type SyncFrame = { type: 'sync', message: Uint8Array } | { type: 'reset' } | { type: 'heads', heads: string[] } | { type: 'swim', frame: SwimFrame }

const seq = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)

/** A relayed ack is dropped after this many hops (a stale graph may route in circles). */
export const MAX_RELAY_HOPS = 16

/** One node's heads on their way to a claimant it is not connected to (node/net/ack-routes.ts). */
export const RelayedAck = z.object({ node: nodeId, heads }).strict()
export type RelayedAck = z.infer<typeof RelayedAck>

/**
 * SWIM frames between neighbours, on their sync stream (type byte 4, then CBOR): a probe and its
 * ack carry the sender's heads (anti-entropy for free); ping-req asks a neighbour to probe a member
 * for us, answered with its ack or a nack; members is the full member list sent on connect; relay
 * carries claim acks (nodes' heads) one hop closer to the claimant `to`, gathered per next hop.
 */
export const SwimFrame = z.discriminatedUnion('t', [
  z.object({ t: z.literal('ping'), seq, heads }).strict(),
  z.object({ t: z.literal('ack'), seq, heads: heads.optional() }).strict(),
  z.object({ t: z.literal('ping-req'), seq, target: nodeId }).strict(),
  z.object({ t: z.literal('nack'), seq }).strict(),
  z.object({ t: z.literal('members'), members: z.array(MemberEntry).max(MAX_MEMBERS_PER_FRAME) }).strict(),
  z.object({ t: z.literal('relay'), to: nodeId, hops: z.number().int().nonnegative().max(MAX_RELAY_HOPS), acks: z.array(RelayedAck).min(1).max(MAX_MEMBERS_PER_FRAME) }).strict()
])
export type SwimFrame = z.infer<typeof SwimFrame>

function decodeSwimFrame (bytes: Uint8Array): SwimFrame {
  return decodeFrame('swim', bytes, MAX_SWIM_FRAME_BYTES, SwimFrame)
}

const HASH_BYTES = 32

export function encodeSyncFrame (frame: SyncFrame): Uint8Array {
  if (frame.type === 'reset') return Uint8Array.of(SyncFrameType.reset)
  if (frame.type === 'swim') {
    const body = encode(frame.frame)
    const out = new Uint8Array(body.byteLength + 1)
    out[0] = SyncFrameType.swim
    out.set(body, 1)
    return out
  }
  if (frame.type === 'heads') {
    const out = new Uint8Array(1 + frame.heads.length * HASH_BYTES)
    out[0] = SyncFrameType.heads
    frame.heads.forEach((h, i) => { out.set(Buffer.from(h, 'hex'), 1 + i * HASH_BYTES) })
    return out
  }
  const out = new Uint8Array(frame.message.byteLength + 1)
  out[0] = SyncFrameType.sync
  out.set(frame.message, 1)
  return out
}

export function decodeSyncFrame (bytes: Uint8Array): SyncFrame {
  if (bytes.byteLength === 0) throw new WireFrameError('empty sync frame')
  if (bytes.byteLength > MAX_SYNC_FRAME_BYTES) throw new WireFrameError(`sync frame of ${bytes.byteLength} bytes exceeds ${MAX_SYNC_FRAME_BYTES}`)
  switch (bytes[0]) {
    case SyncFrameType.sync:
      if (bytes.byteLength < 2) throw new WireFrameError('sync frame without a message')
      return { type: 'sync', message: bytes.subarray(1) }
    case SyncFrameType.reset:
      if (bytes.byteLength !== 1) throw new WireFrameError('reset frame carries no payload')
      return { type: 'reset' }
    case SyncFrameType.heads: {
      const n = (bytes.byteLength - 1) / HASH_BYTES
      if (!Number.isInteger(n)) throw new WireFrameError(`heads frame of ${bytes.byteLength - 1} bytes is not a whole number of 32-byte hashes`)
      if (n > MAX_HEADS) throw new WireFrameError(`heads frame carries ${n} heads, more than ${MAX_HEADS}`)
      const heads: string[] = []
      for (let i = 0; i < n; i++) heads.push(Buffer.from(bytes.subarray(1 + i * HASH_BYTES, 1 + (i + 1) * HASH_BYTES)).toString('hex'))
      return { type: 'heads', heads }
    }
    case SyncFrameType.swim:
      return { type: 'swim', frame: decodeSwimFrame(bytes.subarray(1)) }
    default:
      throw new WireFrameError(`unknown sync frame type ${bytes[0]}`)
  }
}
