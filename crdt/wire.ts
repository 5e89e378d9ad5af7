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

export const ChangesFrame = z.object({
  v: z.literal(WIRE_VERSION),
  t: z.literal('changes'),
  node: nodeId,
  heads,
  changes: z.array(z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected bytes')).min(1).max(MAX_CHANGES_PER_FRAME)
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

/** Ephemeral presence: never stored in the document, so it costs no history. */
export const AnnounceFrame = z.object({
  v: z.literal(WIRE_VERSION),
  t: z.literal('announce'),
  node: nodeId,
  heads,
  at: z.number().int().nonnegative(),
  http: z.string().max(256).nullable(),
  addrs: z.array(z.string().max(512)).max(32),
  beats: z.array(AgentBeat).max(1024)
}).strict()
export type AnnounceFrame = z.infer<typeof AnnounceFrame>

export const GossipFrame = z.discriminatedUnion('t', [ChangesFrame, AnnounceFrame])
export type GossipFrame = z.infer<typeof GossipFrame>

export class WireFrameError extends Error {
  override name = 'WireFrameError'
}

export function encodeGossip (frame: GossipFrame): Uint8Array {
  return encode(frame)
}

export function decodeGossip (bytes: Uint8Array): GossipFrame {
  if (bytes.byteLength > MAX_GOSSIP_FRAME_BYTES) throw new WireFrameError(`gossip frame of ${bytes.byteLength} bytes exceeds ${MAX_GOSSIP_FRAME_BYTES}`)
  let raw: unknown
  try {
    raw = decode(bytes, { strict: true, rejectDuplicateMapKeys: true, useMaps: false })
  } catch (err) {
    throw new WireFrameError(`gossip frame is not valid CBOR: ${(err as Error).message}`)
  }
  const parsed = GossipFrame.safeParse(raw)
  if (!parsed.success) throw new WireFrameError(`gossip frame rejected: ${parsed.error.issues.map(i => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`)
  return parsed.data
}

/** Sync stream frames: one type byte, then the payload. */
export const SyncFrameType = { sync: 1, reset: 2 } as const
export type SyncFrame = { type: 'sync', message: Uint8Array } | { type: 'reset' }

export function encodeSyncFrame (frame: SyncFrame): Uint8Array {
  if (frame.type === 'reset') return Uint8Array.of(SyncFrameType.reset)
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
    default:
      throw new WireFrameError(`unknown sync frame type ${bytes[0]}`)
  }
}
