import { requirePositive } from './errors.js'

/**
 * SWIM/Lifeguard-class membership (as in hashicorp/memberlist), the pure part: the member state
 * machine with incarnation numbers, suspicion timeouts, refutation, the choice of probe targets,
 * and the timing derived from the liveness window. Times are milliseconds passed in by the caller;
 * node/net/membership.ts does the I/O (probes over neighbours' channels, updates over gossip).
 *
 * Why it is correct (the live set every node agrees on, and no false "dead" for a live node):
 * - Each node owns its incarnation number, and only it ever raises it. Every statement about a
 *   member carries the incarnation it is about; `supersedes` orders statements by (incarnation,
 *   then alive < suspect < dead < left at the same incarnation). That order is total and every node
 *   applies the same one, so once the same statements reached every node (in any order), every
 *   node holds the same record for every member: the live sets agree (the rule is a join on that
 *   order, hence commutative, associative and idempotent, like a CRDT register).
 * - A live node that hears a suspect or dead statement about itself at incarnation i answers with
 *   alive at i + 1 (`refute`), which supersedes the statement everywhere. So a live node that can
 *   still reach the overlay is never declared dead by a slow or lost probe: only a node that
 *   cannot get a refutation out for the whole suspicion timeout is (crashed, partitioned away,
 *   or stalled longer than the timeout).
 * - A suspect member turns dead when its suspicion timeout runs out, on every node that holds the
 *   suspicion (and the first to decide spreads the dead statement): nodes learn the suspicion
 *   within one dissemination delay of each other, so they decide within that delay of each other.
 * - A node that restarts starts at a fresh incarnation (the wall clock at start, above any it used
 *   before unless the clock went back, and then it refutes the old dead record as above), so its
 *   alive statement supersedes the dead one and it rejoins.
 * Detection bound (see `detectionBoundMs`): a crashed node has at least one neighbour watching it
 * (`probeTargets`), which probes it within 1 + PROBE_BACK_ROUNDS probe rounds, suspects it after
 * the direct and indirect timeouts, and everyone holds it dead after the suspicion timeout plus
 * the time gossip takes to cross the overlay. Lifeguard (crdt/rules/lifeguard.ts) lengthens a
 * suspicion that no other neighbour confirms, and the timeouts of a node that finds itself slow;
 * the bound holds for confirmed suspicions.
 */

export type MemberStatus = 'alive' | 'suspect' | 'dead' | 'left'

/** A statement about a member: its status at one of its incarnations. */
export interface MemberState {
  status: MemberStatus
  incarnation: number
}

/** What one node holds about a member: the winning statement and since when (local clock). */
export interface MemberRecord extends MemberState {
  /** When this node adopted the statement; for a suspect, when its suspicion timeout started. */
  since: number
}

/** Statuses that count a member in the live set: a suspect is still live until it is dead. */
export function isLiveStatus (status: MemberStatus): boolean {
  return status === 'alive' || status === 'suspect'
}

const RANK: Record<MemberStatus, number> = { alive: 0, suspect: 1, dead: 2, left: 3 }

/**
 * Whether statement `next` replaces `current`: a higher incarnation always does; at the same
 * incarnation a worse status does (alive < suspect < dead < left). Nothing about an unknown member
 * is lost (current undefined: it does).
 */
export function supersedes (current: MemberState | undefined, next: MemberState): boolean {
  if (current === undefined) return true
  if (next.incarnation !== current.incarnation) return next.incarnation > current.incarnation
  return RANK[next.status] > RANK[current.status]
}

/**
 * Applies a statement to a member's record: the new record if it supersedes, else null (nothing
 * changed, and nothing to pass on). A record adopted now starts its suspicion clock now.
 */
export function applyStatement (current: MemberRecord | undefined, next: MemberState, now: number): MemberRecord | null {
  if (!supersedes(current, next)) return null
  return { status: next.status, incarnation: next.incarnation, since: now }
}

/**
 * A statement about ourselves: the incarnation to announce alive at, or null when nothing needs
 * refuting. Suspect or dead at our incarnation or above is refuted by going above it; `left`
 * about us while we run (a stale goodbye from before a restart) is refuted the same way.
 */
export function refute (ownIncarnation: number, about: MemberState): number | null {
  if (about.status === 'alive') return about.incarnation > ownIncarnation ? about.incarnation + 1 : null
  return about.incarnation >= ownIncarnation ? about.incarnation + 1 : null
}

/** A suspect whose timeout ran out is dead (at the same incarnation); otherwise null. */
export function expireSuspicion (record: MemberRecord, now: number, suspicionMs: number): MemberState | null {
  requirePositive('suspicionMs', suspicionMs)
  if (record.status !== 'suspect' || now - record.since < suspicionMs) return null
  return { status: 'dead', incarnation: record.incarnation }
}

/** The incarnation a node starts at: its clock, so a restarted node is above its old records. */
export function initialIncarnation (now: number): number {
  return Math.max(0, Math.floor(now))
}

/** Timing of the failure detector for one liveness window. */
export interface SwimTiming {
  /** A node pings each of its probe targets once per round (probes are spread over the round). */
  roundMs: number
  /** A probe unanswered this long goes to k other neighbours as indirect probes. */
  probeTimeoutMs: number
  /** ... and unanswered this long after that, the member becomes suspect. */
  indirectTimeoutMs: number
  /** A suspect that does not refute this long is dead. */
  suspicionMs: number
  /** Neighbours asked to probe on our behalf after a missed ack. */
  indirectProbes: number
}

export const DEFAULT_INDIRECT_PROBES = 3
/** Probe timeouts never go under this: an event loop on a loaded machine answers in tens of ms. */
export const MIN_PROBE_TIMEOUT_MS = 200

/**
 * A neighbour that pinged us every round and has not for this many rounds gets one probe from us
 * (node/net/prober.ts): it may have crashed. A little over one round, so timer jitter alone rarely
 * sets it off.
 */
export const PROBE_BACK_ROUNDS = 1.25

/**
 * The detector's timing for a liveness window L: probe and indirect timeouts of L/24 each (at least
 * MIN_PROBE_TIMEOUT_MS), a round of L/6 (shorter when the minimum timeouts need it), and a
 * suspicion timeout of whatever is left of L after the rounds before a first probe and both
 * timeouts, at least 0.5 L. So a crashed member is dead everywhere within about L plus the gossip
 * delay (detectionBoundMs), as with the old keepalives, while a live node has more than half a
 * window to refute a suspicion: conservative, since a false "dead" weakens the settle rule. (A
 * suspicion nobody confirms runs longer still: crdt/rules/lifeguard.ts.)
 */
export function swimTimingFor (livenessMs: number): SwimTiming {
  requirePositive('livenessMs', livenessMs)
  const probeTimeoutMs = Math.max(MIN_PROBE_TIMEOUT_MS, Math.floor(livenessMs / 24))
  const indirectTimeoutMs = probeTimeoutMs
  const beforeProbe = 1 + PROBE_BACK_ROUNDS
  const roundMs = Math.max(100, Math.floor(Math.min(livenessMs / 6, (livenessMs / 2 - probeTimeoutMs - indirectTimeoutMs) / beforeProbe)))
  const suspicionMs = Math.max(Math.floor(livenessMs / 2), Math.floor(livenessMs - beforeProbe * roundMs - probeTimeoutMs - indirectTimeoutMs))
  return { roundMs, probeTimeoutMs, indirectTimeoutMs, suspicionMs, indirectProbes: DEFAULT_INDIRECT_PROBES }
}

/**
 * How long after a crash every node holds the member dead, at most, once its suspicion is
 * confirmed: the first probe of it comes within 1 + PROBE_BACK_ROUNDS rounds (a neighbour it
 * pinged every round probes it once the pings stop: `probeTargets`), the direct and indirect
 * timeouts pass, the suspicion spreads (one gossip crossing), its timeout runs out, and the dead
 * statement spreads (another crossing). `gossipMs` bounds one crossing of the overlay.
 */
export function detectionBoundMs (t: SwimTiming, gossipMs: number): number {
  return Math.ceil((1 + PROBE_BACK_ROUNDS) * t.roundMs) + t.probeTimeoutMs + t.indirectTimeoutMs + t.suspicionMs + 2 * gossipMs
}

/**
 * Neighbours a node pings every round on its own: its probe targets. memberlist probes one member
 * per period; a fixed target keeps every member watched (by the neighbour it pings, and by those
 * that chose it) while the frames per node stay constant instead of growing with the node's degree
 * (every neighbour once per round was 2 x degree probe frames per node per round). One, not two:
 * the probe frames were half of an idle node's CPU at 16 nodes, and a second target adds watchers
 * but not detection speed (a suspicion is confirmed by every neighbour probing the suspect at once,
 * node/net/membership.ts).
 */
export const DEFAULT_PROBE_TARGETS = 1

/**
 * A node's probe targets among its neighbours: the k that rank first by a hash of the pair, so
 * the choice is stable while the neighbours stay (a watcher sees a ping every round), spreads the
 * nodes chosen evenly (each node is chosen by about k others on average, not the bootstrap node by
 * all), and changes by at most the arrivals and departures of neighbours.
 *
 * Why detection keeps its bound (detectionBoundMs): a member X with a neighbour pings min(k, deg)
 * targets every round. Each target watches X's pings (from the first when X's announced neighbours
 * make it X's target, else from the second: one ping alone may be a check or a helper's probe);
 * once none came for PROBE_BACK_ROUNDS rounds, it probes X itself (node/net/prober.ts), and a
 * crashed X does not answer: so the first failed probe of a crashed member comes within
 * 1 + PROBE_BACK_ROUNDS rounds, as when every neighbour probed it. When X changes targets, the
 * one it left still watches it until that check: X answers it (alive), or does not (crashed).
 * A crash that closes X's connections is noticed at once by every neighbour (Prober.lost).
 */
export function probeTargets (selfId: string, neighbours: Iterable<string>, k: number): string[] {
  const ranked: Array<[number, string]> = []
  for (const n of neighbours) ranked.push([pairRank(selfId, n), n])
  ranked.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1))
  return ranked.slice(0, Math.max(0, k)).map(r => r[1])
}

/**
 * A node announces heads that changed (to the whole cluster, by gossip) at most every
 * headsAnnounceMs: DEFAULT_HEADS_ANNOUNCE_MS in a cluster of up to HEADS_ANNOUNCE_MEMBERS members,
 * proportionally longer in a larger one. Every announcement reaches every node, so with a fixed
 * interval a node of a busy n-node cluster received n of them per interval: measured at 32 nodes
 * under 2 writes a second, 5.2 announcements a second per node, more gossip than the writes
 * themselves. Scaled, a node receives at most HEADS_ANNOUNCE_MEMBERS of them per
 * DEFAULT_HEADS_ANNOUNCE_MS whatever the size. Older heads of far members are safe: the catch-up
 * wait before a claim waits less (the settle rule, which takes each peer's heads from its ack, is
 * what keeps claims safe), resyncs follow the heads neighbours show on their probes, and the
 * out-of-sync alert waits at least an interval longer than these heads can be old
 * (crdt/rules/alerts.ts).
 */
export const DEFAULT_HEADS_ANNOUNCE_MS = 10_000
export const HEADS_ANNOUNCE_MEMBERS = 8

/** The heads-announcement interval in a cluster of `members` live members (this node included). */
export function headsAnnounceMs (members: number, baseMs: number = DEFAULT_HEADS_ANNOUNCE_MS): number {
  return Math.round(baseMs * Math.max(1, members / HEADS_ANNOUNCE_MEMBERS))
}

/**
 * How often, in probe rounds, a node also pings one neighbour that is not its target: the sweep.
 * Targets are chosen per pair by hash, so under a partition the watch relations cross a cut only
 * by chance: a side may hold no relation at all to a far-side node and keep it live (its claims
 * unsettled) until a connection closes. The sweep walks every neighbour in turn, so each link is
 * probed from both ends within sweepRounds x degree rounds, at a constant cost of 1/sweepRounds
 * ping per node per round (a third of the probe frames again at the default).
 */
export const DEFAULT_SWEEP_ROUNDS = 3

/**
 * The next neighbour to sweep: the first non-target neighbour after `last` in id order, wrapping
 * around (undefined when every neighbour is a target). Id order, not random: each one comes up
 * once per pass, so a far-side neighbour is reached within one pass whatever else joins or leaves.
 */
export function nextSweep (neighbours: Iterable<string>, targets: readonly string[], last: string | null): string | undefined {
  const skip = new Set(targets)
  let first: string | undefined
  let next: string | undefined
  for (const n of neighbours) {
    if (skip.has(n)) continue
    if (first === undefined || n < first) first = n
    if (last !== null && n > last && (next === undefined || n < next)) next = n
  }
  return next ?? first
}

/** FNV-1a (32 bits) of "a|b": a rank that differs per pair and direction, the same on every run. */
function pairRank (a: string, b: string): number {
  let h = 0x811c9dc5
  const s = `${a}|${b}`
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

/**
 * Helpers for an indirect probe of `target`: k of our neighbours, those the target announced as its
 * own neighbours first (in random order), then random others to make up k. In a bounded overlay a
 * helper can only probe the target over a session it holds with it: one that holds none answers
 * with a nack, so random helpers mostly cost a ping-req and a nack each and prove nothing, and a
 * live member whose direct probe was late gets suspected (and gossiped about, and refutes) although
 * a linked helper would have vouched for it. Never fewer helpers than before, so detection keeps
 * its bound; just better ones.
 */
export function pickHelpers (neighbours: readonly string[], targetNeighbours: readonly string[], k: number, random: () => number, target: string): string[] {
  const linkedToTarget = new Set(targetNeighbours)
  const linked = neighbours.filter(x => x !== target && linkedToTarget.has(x))
  const first = pickRandom(linked, k, random)
  if (first.length >= k) return first
  return [...first, ...pickRandom(neighbours.filter(x => x !== target && !linkedToTarget.has(x)), k - first.length, random)]
}

/** Up to k distinct random items of xs, none equal to `except`. */
export function pickRandom<T> (xs: readonly T[], k: number, random: () => number, except?: T): T[] {
  return shuffle(xs.filter(x => x !== except), random).slice(0, Math.max(0, k))
}

function shuffle<T> (xs: T[], random: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1)) % (i + 1)
    const x = xs[i] as T
    xs[i] = xs[j] as T
    xs[j] = x
  }
  return xs
}
