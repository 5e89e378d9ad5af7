import { HEALTH_DELTA, nextHealth, scaledByHealth } from '../../crdt/rules/lifeguard.js'
import { DEFAULT_PROBE_TARGETS, DEFAULT_SWEEP_ROUNDS, nextSweep, pickHelpers, PROBE_BACK_ROUNDS, probeTargets, type SwimTiming } from '../../crdt/rules/swim.js'
import type { SwimFrame } from '../../crdt/wire.js'

/**
 * The SWIM failure detector's I/O (the rules are crdt/rules/swim.ts): spread over each round, one
 * ping at a time goes to the next of the node's few probe targets (`probeTargets`: a stable choice
 * of k neighbours), so a node sends k pings per round whatever its degree and the cluster's size.
 * A neighbour that pinged us every round and stopped gets one probe from us (it may have crashed).
 * Every few rounds one more ping goes to the next of the other neighbours in turn (the sweep), so
 * every link is probed from both ends even when no target relation crosses it (a partition).
 * A probe unanswered within the probe timeout goes as ping-req to other neighbours, which probe
 * the member over their own channel and relay its ack; still nothing after the indirect timeout,
 * and the member is reported suspect. Probes and acks carry the sender's heads (anti-entropy).
 *
 * Lifeguard's local health (crdt/rules/lifeguard.ts): failed probes, refuted suspicions of
 * ourselves and stalled timers raise a score; acks in time lower it. The probe period and both
 * timeouts are scaled by (score + 1), so a node that is the slow one probes less and waits longer
 * instead of suspecting members whose acks it reads late; its targets' acks in time restore it.
 */

export interface ProberInit {
  selfId: string
  timing: SwimTiming
  /** Neighbours: peers with an open channel. */
  neighbours: () => ReadonlySet<string>
  /** The neighbours a member announced (ping-req goes to ours among them first); default none known. */
  neighboursOf?: (member: string) => readonly string[]
  /** Neighbours pinged every round (default DEFAULT_PROBE_TARGETS). */
  targets?: number
  /** Rounds between two sweep pings to a non-target neighbour (default DEFAULT_SWEEP_ROUNDS; 0 turns the sweep off). */
  sweepRounds?: number
  /** Sends a frame to a neighbour; false if there is no channel to it. */
  send: (peer: string, frame: SwimFrame) => boolean
  heads: () => string[]
  /** Direct evidence that a peer is alive (it answered, or probed us), with its heads if it sent them. */
  onAlive: (peer: string, heads: string[] | null) => void
  /** Neither the member nor any helper answered in time. */
  onSuspect: (peer: string) => void
  random?: () => number
}

/** Counters: probes sent, of them checks of a neighbour whose pings stopped and sweeps of a non-target, indirect rounds, suspicions raised, nacks, suspicions put off because we were stalled. */
export interface ProberStats { probes: number, checks: number, sweeps: number, indirect: number, suspicions: number, nacks: number, selfSlow: number }

interface Pending {
  target: string
  /** Set when we probe for another node (ping-req): whom to relay the ack to, under its seq. */
  relay: { requester: string, seq: number } | null
  timer: NodeJS.Timeout | null
  /** Already probed again once because our own loop was stalled: suspect this time. */
  retried: boolean
}

export class Prober {
  private readonly init: ProberInit
  private readonly random: () => number
  private readonly pending = new Map<number, Pending>()
  /** When each neighbour that pings us last did, and whether it does so regularly: then we watch it (its pings prove it alive as acks would). */
  private readonly pingedAt = new Map<string, { at: number, regular: boolean }>()
  private readonly targets: number
  private readonly sweepRounds: number
  /** The neighbour swept last (the next sweep takes the one after it in id order), and when the next one is due. */
  private swept: string | null = null
  private sweepDue = 0
  /** Position in the current targets (a fixed order: each target's pings come a round apart). */
  private cursor = 0
  private seq = 1
  private timer: NodeJS.Timeout | null = null
  private running = false
  readonly stats: ProberStats = { probes: 0, checks: 0, sweeps: 0, indirect: 0, suspicions: 0, nacks: 0, selfSlow: 0 }
  /** Lifeguard's local-health score: 0 healthy, up to DEFAULT_MAX_LOCAL_HEALTH. */
  private score = 0

  constructor (init: ProberInit) {
    this.init = init
    this.random = init.random ?? Math.random
    this.targets = init.targets ?? DEFAULT_PROBE_TARGETS
    this.sweepRounds = init.sweepRounds ?? DEFAULT_SWEEP_ROUNDS
  }

  start (): void {
    this.running = true
    this.sweepDue = Date.now() + this.sweepPeriodMs
    this.schedule()
  }

  stop (): void {
    this.running = false
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    for (const p of this.pending.values()) if (p.timer !== null) clearTimeout(p.timer)
    this.pending.clear()
  }

  /** The local-health score (0 = healthy). */
  get health (): number {
    return this.score
  }

  /** Moves the local-health score (HEALTH_DELTA); membership reports refutations here. */
  adjustHealth (delta: number): void {
    this.score = nextHealth(this.score, delta)
  }

  private get probeTimeoutMs (): number {
    return scaledByHealth(this.init.timing.probeTimeoutMs, this.score)
  }

  private get indirectTimeoutMs (): number {
    return scaledByHealth(this.init.timing.indirectTimeoutMs, this.score)
  }

  private get sweepPeriodMs (): number {
    return this.sweepRounds * scaledByHealth(this.init.timing.roundMs, this.score)
  }

  /** The next probe comes a round's share later: round / number of targets, the round scaled by local health. */
  private schedule (): void {
    if (!this.running) return
    const n = Math.max(1, Math.min(this.targets, this.init.neighbours().size))
    this.timer = setTimeout(() => {
      this.timer = null
      this.tick(Date.now())
      this.schedule()
    }, Math.max(10, Math.floor(scaledByHealth(this.init.timing.roundMs, this.score) / n)))
  }

  /**
   * One probe slot: first a probe of each watched neighbour whose pings stopped for
   * PROBE_BACK_ROUNDS rounds (once: a neighbour that chose other targets answers it and is no
   * longer watched; a crashed one does not), then a ping to the next target. A node whose health
   * is impaired keeps to its targets (their acks in time are what restore it): probing every
   * neighbour then, as before targets, multiplied the frames of a whole overloaded cluster.
   * Every sweep period (scaled by health too) the slot also pings the next non-target neighbour.
   */
  private tick (now: number): void {
    const neighbours = this.init.neighbours()
    const targets = probeTargets(this.init.selfId, neighbours, this.targets)
    const lapse = PROBE_BACK_ROUNDS * this.init.timing.roundMs
    for (const [peer, w] of this.pingedAt) {
      if (now - w.at < lapse) continue
      // A target of ours gets its ping this round anyway; a one-off pinger is not watched.
      if (!w.regular || !neighbours.has(peer) || targets.includes(peer)) {
        this.pingedAt.delete(peer)
        continue
      }
      // Checked once: a next ping soon after makes it regular again; none, and it is let go.
      this.pingedAt.set(peer, { at: now, regular: false })
      this.stats.checks++
      this.probe(peer)
    }
    if (this.sweepRounds > 0 && now >= this.sweepDue) {
      this.sweepDue = now + this.sweepPeriodMs
      const next = nextSweep(neighbours, targets, this.swept)
      if (next !== undefined) {
        this.swept = next
        this.stats.sweeps++
        this.probe(next)
      }
    }
    if (targets.length === 0) return
    this.probe(targets[this.cursor++ % targets.length] as string)
  }

  /**
   * Whether we are one of `member`'s probe targets by the neighbours it announced: then its first
   * ping is a regular one, and a member that hangs just after choosing us is still watched (with
   * one target per node, nobody else may be). Announced neighbours can be stale; the two-pings rule
   * covers that, and a wrong guess costs one check.
   */
  private targetOf (member: string): boolean {
    const theirs = this.init.neighboursOf?.(member) ?? []
    return theirs.includes(this.init.selfId) && probeTargets(member, theirs, this.targets).includes(this.init.selfId)
  }

  /** Probes a member directly now; on silence, indirectly; then reports it suspect. */
  probe (target: string, retried = false): void {
    const seq = this.seq++
    const p: Pending = { target, relay: null, timer: null, retried }
    this.pending.set(seq, p)
    this.stats.probes++
    const sent = this.ping(target, seq)
    p.timer = setTimeout(() => { this.indirect(seq, p) }, sent ? this.probeTimeoutMs : 0)
  }

  private ping (peer: string, seq: number): boolean {
    return this.init.send(peer, { t: 'ping', seq, heads: this.init.heads() })
  }

  /** A neighbour's channel closed: find out through others whether it is gone (not at once suspect: streams get replaced). */
  lost (peer: string): void {
    this.pingedAt.delete(peer)
    const seq = this.seq++
    const p: Pending = { target: peer, relay: null, timer: null, retried: false }
    this.pending.set(seq, p)
    p.timer = setTimeout(() => { this.indirect(seq, p) }, this.probeTimeoutMs)
  }

  private indirect (seq: number, p: Pending): void {
    if (!this.pending.has(seq)) return
    const neighbours = this.init.neighbours()
    const helpers = pickHelpers([...neighbours], this.init.neighboursOf?.(p.target) ?? [], this.init.timing.indirectProbes, this.random, p.target)
    this.stats.indirect++
    for (const h of helpers) this.init.send(h, { t: 'ping-req', seq, target: p.target })
    // Back on a channel meanwhile (a replaced stream): probe it directly once more.
    if (neighbours.has(p.target)) this.ping(p.target, seq)
    const wait = this.indirectTimeoutMs
    const due = Date.now() + wait
    p.timer = setTimeout(() => {
      if (this.pending.get(seq) !== p) return
      this.pending.delete(seq)
      // A timer that fired far too late means our own event loop was stalled (acks may be sitting
      // unread), so the silence proves little: count it against our health and probe once more
      // before suspecting (only once, so a node that is always slow still detects failures).
      if (!p.retried && Date.now() - due > wait) {
        this.stats.selfSlow++
        this.adjustHealth(HEALTH_DELTA.stalled)
        this.probe(p.target, true)
        return
      }
      this.stats.suspicions++
      this.adjustHealth(HEALTH_DELTA.probeFailed)
      this.init.onSuspect(p.target)
    }, wait)
  }

  /** A SWIM probe frame from a neighbour (member lists are handled by the caller). */
  receive (from: string, frame: SwimFrame): void {
    switch (frame.t) {
      case 'ping': {
        // Watched once its pings are regular: from the first one when its announced neighbours
        // make us one of its targets, else from two within two lapses. A one-off ping (another's
        // check of us, a helper's probe) is not: checking it back would make two nodes check each
        // other forever.
        const now = Date.now()
        const prev = this.pingedAt.get(from)
        const regular = (prev !== undefined && now - prev.at < 2 * PROBE_BACK_ROUNDS * this.init.timing.roundMs) || this.targetOf(from)
        this.pingedAt.set(from, { at: now, regular })
        this.init.onAlive(from, frame.heads)
        this.init.send(from, { t: 'ack', seq: frame.seq, heads: this.init.heads() })
        return
      }
      case 'ack': {
        const p = this.pending.get(frame.seq)
        if (p === undefined) {
          // A late ack still proves the sender alive.
          this.init.onAlive(from, frame.heads ?? null)
          return
        }
        // Probing for another node, only the target's own ack counts.
        if (p.relay !== null && from !== p.target) return
        this.pending.delete(frame.seq)
        if (p.timer !== null) clearTimeout(p.timer)
        if (p.relay === null) this.adjustHealth(HEALTH_DELTA.probeAcked)
        // From the target itself (with its heads), or a helper relaying the target's ack.
        this.init.onAlive(p.target, from === p.target ? frame.heads ?? null : null)
        if (p.relay !== null) this.init.send(p.relay.requester, { t: 'ack', seq: p.relay.seq })
        return
      }
      case 'ping-req': {
        if (frame.target === this.init.selfId || !this.init.neighbours().has(frame.target)) {
          // Lifeguard's nack: we are fine, we just cannot reach that member.
          this.init.send(from, { t: 'nack', seq: frame.seq })
          return
        }
        const seq = this.seq++
        const p: Pending = { target: frame.target, relay: { requester: from, seq: frame.seq }, timer: null, retried: false }
        this.pending.set(seq, p)
        this.ping(frame.target, seq)
        p.timer = setTimeout(() => { this.pending.delete(seq) }, this.probeTimeoutMs)
        return
      }
      case 'nack':
        this.stats.nacks++
        return
      case 'members':
        return
    }
  }
}
