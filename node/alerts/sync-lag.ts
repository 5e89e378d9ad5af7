/** Our heads are noted this often; a peer's lag is known to this resolution. */
export const DEFAULT_CHECKPOINT_MS = 5000
/** Checkpoints kept: enough to measure lags well past the out-of-sync threshold (60 s). */
export const DEFAULT_MAX_CHECKPOINTS = 40
/** Peers are re-judged at most this often (one ancestry query per peer that differs from us). */
export const DEFAULT_JUDGE_EVERY_MS = 2000

export interface SyncLagInit {
  /** Our current heads. */
  heads: () => string[]
  /**
   * Hashes of changes this replica has that are not in the history of `peerHeads`; null when it
   * cannot tell (the peer announced changes we lack, so their ancestry is unknown here).
   */
  missingFrom: (peerHeads: string[]) => ReadonlySet<string> | null
  checkpointMs?: number
  maxCheckpoints?: number
  judgeEveryMs?: number
}

interface Checkpoint { at: number, heads: string[] }

/** Heads as one comparable string, whatever order they were listed in. */
function headsKey (heads: readonly string[]): string {
  return [...heads].sort().join()
}

/**
 * How long each peer has lacked changes this node had: "behind since" the first checkpoint of our
 * heads, after the newest one the peer's announced heads include. Under a steady stream of writes
 * heads rarely match exactly, but a peer that keeps up includes every checkpoint older than a
 * moment, so only a peer that stopped catching up accumulates lag. A peer whose ancestry we cannot
 * judge (it is ahead of us) counts as caught up: our own replica is the one behind then.
 */
export class SyncLagTracker {
  private readonly checkpoints: Checkpoint[] = []
  /** Per peer: the time of the newest checkpoint it was seen to include. */
  private readonly caughtUp = new Map<string, number>()
  private readonly firstSeen = new Map<string, number>()
  /**
   * Per peer: its heads (sorted, joined) when last judged with their whole history held here. While
   * they stay the same the judgement stands (see update), so judging costs O(peers) comparisons and
   * one ancestry query per peer whose heads moved, not one per peer: a node hears most peers'
   * heads rarely.
   */
  private readonly judged = new Map<string, string>()
  private judgedAt = -Infinity

  constructor (private readonly init: SyncLagInit) {}

  /** Notes our heads (at most every checkpointMs) and re-judges the peers (at most every judgeEveryMs). */
  update (now: number, peers: Array<{ id: string, heads: string[] }>): void {
    const every = this.init.checkpointMs ?? DEFAULT_CHECKPOINT_MS
    const ours = this.init.heads()
    const last = this.checkpoints[this.checkpoints.length - 1]
    if (last === undefined || now - last.at >= every) {
      this.checkpoints.push({ at: now, heads: ours })
      if (this.checkpoints.length > (this.init.maxCheckpoints ?? DEFAULT_MAX_CHECKPOINTS)) this.checkpoints.shift()
    }
    if (now - this.judgedAt < (this.init.judgeEveryMs ?? DEFAULT_JUDGE_EVERY_MS)) return
    this.judgedAt = now
    const ids = new Set<string>()
    const ourKey = headsKey(ours)
    for (const p of peers) {
      ids.add(p.id)
      if (!this.firstSeen.has(p.id)) this.firstSeen.set(p.id, now)
      const key = headsKey(p.heads)
      if (p.heads.length > 0 && key === ourKey) { this.caughtUp.set(p.id, now); continue }
      // Judged before on these heads: the peer's history was then a strict part of ours (equal
      // heads are the case above), and every checkpoint since holds at least that much of ours,
      // so none is in the peer's history: nothing to learn from asking again.
      if (this.judged.get(p.id) === key) continue
      const missing = this.init.missingFrom(p.heads)
      if (missing === null) {
        this.judged.delete(p.id)
        this.caughtUp.set(p.id, now)
        continue
      }
      this.judged.set(p.id, key)
      // Newest first: the first checkpoint included settles it (older ones are its ancestors).
      const since = this.caughtUp.get(p.id) ?? -Infinity
      for (let i = this.checkpoints.length - 1; i >= 0; i--) {
        const c = this.checkpoints[i] as Checkpoint
        if (c.at <= since) break
        if (c.heads.every(h => !missing.has(h))) { this.caughtUp.set(p.id, c.at); break }
      }
    }
    for (const id of [...this.firstSeen.keys()]) {
      if (!ids.has(id)) { this.firstSeen.delete(id); this.caughtUp.delete(id); this.judged.delete(id) }
    }
  }

  /** Since when the peer has lacked changes we had; null when it is caught up (or unknown). */
  behindSince (peerId: string): number | null {
    const first = this.firstSeen.get(peerId)
    if (first === undefined) return null
    const cu = this.caughtUp.get(peerId) ?? -Infinity
    const next = this.checkpoints.find(c => c.at > cu)
    // A peer that just appeared is behind at most since we first saw it.
    return next === undefined ? null : Math.max(next.at, first)
  }
}
