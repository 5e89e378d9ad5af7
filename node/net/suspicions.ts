import {
  DEFAULT_SUSPICION_MAX_FACTOR, expectedConfirmations, suspicionTimeoutMs
} from '../../crdt/rules/lifeguard.js'
import { expireSuspicion, type MemberState, type MemberStatus } from '../../crdt/rules/swim.js'

/** What the peer table holds about a member (PeerInfo's fields). */
export interface HeldStatus { status: MemberStatus | null, incarnation: number, statusSince: number }

/** One suspicion this node holds: of a member at one incarnation, since when, and who else suspects it. */
interface Suspicion {
  incarnation: number
  since: number
  /** Confirmations this suspicion can expect (crdt/rules/lifeguard.ts expectedConfirmations). */
  k: number
  /** Members that suspected it themselves (the first suspecter included, when known). */
  suspecters: Set<string>
}

export interface SuspicionsInit {
  /** The shortest suspicion (SwimTiming.suspicionMs): what a confirmed suspicion lasts. */
  minMs: number
  /** An unconfirmed suspicion lasts this many times minMs (default DEFAULT_SUSPICION_MAX_FACTOR). */
  maxFactor?: number
}

/**
 * The suspicions this node holds, with Lifeguard's confirmations (crdt/rules/lifeguard.ts): a
 * suspicion runs from maxFactor x minMs down to minMs as other members independently suspect the
 * same member at the same incarnation. Only a member that published a suspicion itself counts
 * (a gossiped members frame is signed by its publisher); member lists passed on in push-pull
 * carry no suspecter; a pass-on of news gossiped by another member counts it too, which at worst
 * shortens the suspicion to minMs, the old rule. Kept by suspect, so the periodic check visits
 * only the suspects.
 */
export class Suspicions {
  private readonly minMs: number
  private readonly maxMs: number
  private readonly byMember = new Map<string, Suspicion>()

  constructor (init: SuspicionsInit) {
    this.minMs = init.minMs
    this.maxMs = Math.floor(init.minMs * (init.maxFactor ?? DEFAULT_SUSPICION_MAX_FACTOR))
  }

  /**
   * A member became suspect here at `incarnation` (its suspicion clock starts now); `by` is who
   * suspected it (ourselves, or the publisher of the gossip), null when unknown; `liveNeighbours`
   * is how many live members hold a session with it (who could confirm).
   */
  start (member: string, incarnation: number, now: number, by: string | null, liveNeighbours: number): void {
    this.byMember.set(member, { incarnation, since: now, k: expectedConfirmations(liveNeighbours), suspecters: new Set(by === null ? [] : [by]) })
  }

  /** A member suspects it too, at the same incarnation: true when that is a new confirmation (counted once per suspecter). */
  confirm (member: string, incarnation: number, by: string): boolean {
    const s = this.byMember.get(member)
    if (s === undefined || s.incarnation !== incarnation || s.suspecters.has(by)) return false
    s.suspecters.add(by)
    return true
  }

  /** The member is no longer suspect here (refuted, dead, left). */
  end (member: string): void {
    this.byMember.delete(member)
  }

  /** How long the member's suspicion runs now, or null if it is not suspect here. */
  timeoutMs (member: string): number | null {
    const s = this.byMember.get(member)
    if (s === undefined) return null
    return suspicionTimeoutMs(this.minMs, this.maxMs, s.k, Math.max(0, s.suspecters.size - 1))
  }

  /**
   * Deaths due now: suspects whose suspicion ran out without a refutation, as dead statements at
   * the suspected incarnation. Suspicions the table no longer holds (refuted, dead) are dropped.
   */
  expired (now: number, held: (member: string) => HeldStatus | undefined): Array<[string, MemberState]> {
    const out: Array<[string, MemberState]> = []
    for (const member of [...this.byMember.keys()]) {
      const p = held(member)
      const timeoutMs = this.timeoutMs(member)
      if (p === undefined || p.status !== 'suspect' || timeoutMs === null) {
        this.end(member)
        continue
      }
      const dead = expireSuspicion({ status: p.status, incarnation: p.incarnation, since: p.statusSince }, now, timeoutMs)
      if (dead !== null) out.push([member, dead])
    }
    return out
  }

  get size (): number {
    return this.byMember.size
  }
}
