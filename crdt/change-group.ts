import type { FleetDoc } from './schema.js'

/**
 * Most writes a group holds before it is applied without waiting for the end of the turn: bounds
 * one change's size and the re-runs a refused write costs the others (see ChangeGroup.flush).
 */
export const DEFAULT_MAX_GROUP = 64

/**
 * How long writes released after a disk write wait for more of the writers active during it to
 * come back (each sends its next write once acknowledged): a client's round trip on loopback is
 * well under it on an idle machine; on the loaded 2-core VM 2 ms timed out most of the time and
 * 10 ms a third of it (bench:sync, 2026-11-30). Never waited when the writes queued are already as
 * many as were active (so never for a lone sequential writer).
 */
export const DEFAULT_LINGER_MS = 5

interface Member {
  mutate: (doc: FleetDoc) => unknown
  message: string | undefined
  resolve: (result: unknown) => void
  reject: (err: unknown) => void
}

export interface ChangeGroupInit {
  /**
   * Applies one local change running `mutate`; throws what `mutate` throws, having written
   * nothing (an Automerge change is all or nothing).
   */
  apply: (mutate: (doc: FleetDoc) => void, message: string | undefined, writes: number) => void
  /** Default DEFAULT_MAX_GROUP. */
  maxGroup?: number
  /**
   * While true (the previous change is still being saved), queued writes wait for release()
   * instead of the end of the turn, so every write that arrives meanwhile joins the next change.
   * Default: never busy (writes of one turn only).
   */
  busy?: () => boolean
  /** Default DEFAULT_LINGER_MS; 0: released writes never wait. */
  lingerMs?: number
}

/**
 * Joins concurrent writes into one Automerge change (group commit). A change has a fixed cost
 * on every replica (encoding, hashing, signing and gossiping it, verifying and applying it, one
 * projection update), so writes arriving together (concurrent HTTP requests) pay it once. A
 * group is the writes of one event-loop turn, or, while the owner is `busy` saving the previous
 * change, every write that arrives until it calls release(): concurrent writers each waiting for
 * their acknowledgement then share the next change instead of taking turns. A queued write waits
 * about as long as it would have anyway: its change could not be saved before the one in flight.
 * On release, if fewer writes are queued than were waiting at once meanwhile (the writers just
 * acknowledged are about to send their next ones), the group lingers up to `lingerMs` for them:
 * otherwise the writers split into cohorts that alternate, each change carrying only a part.
 * Writes still apply in the order they were made, and each caller gets its own result or error: a
 * mutator that throws is dropped and the rest of the group runs again without it.
 *
 * Only for writes whose callers need nothing but their own effect in the document: until the
 * group is applied a queued write is not in the document. Claims, whose correctness argument needs
 * the read and the write in one synchronous step, go through DocStore.change.
 */
export class ChangeGroup {
  private members: Member[] = []
  private timer: NodeJS.Immediate | null = null
  private readonly maxGroup: number
  private readonly busy: () => boolean
  /** Writes added and not yet acknowledged (queued, or applied and waiting for the disk). */
  private active = 0
  private readonly lingerMs: number
  /** Most writes waiting at once since the last release: the writers active. */
  private peak = 0
  /** While lingering: the queued writes that end it at once. */
  private target = 0
  private linger: NodeJS.Timeout | null = null

  constructor (private readonly init: ChangeGroupInit) {
    this.maxGroup = init.maxGroup ?? DEFAULT_MAX_GROUP
    this.busy = init.busy ?? (() => false)
    this.lingerMs = init.lingerMs ?? DEFAULT_LINGER_MS
  }

  /**
   * Queues a write for the end of this turn (or, while busy, for release()); resolves with its
   * mutator's result once applied and `acknowledged` (the owner's wait for the disk) resolved.
   */
  async add<R> (mutate: (doc: FleetDoc) => R, message?: string, acknowledged?: () => Promise<void>): Promise<R> {
    this.active++
    try {
      const result = await this.queue(mutate, message)
      await acknowledged?.()
      return result
    } finally {
      this.active--
    }
  }

  private async queue<R> (mutate: (doc: FleetDoc) => R, message: string | undefined): Promise<R> {
    return await new Promise<R>((resolve, reject) => {
      this.members.push({ mutate, message, resolve: resolve as (r: unknown) => void, reject })
      this.peak = Math.max(this.peak, this.active)
      if (this.members.length >= this.maxGroup) this.flush()
      else if (this.linger !== null) {
        if (this.members.length >= this.target) this.schedule()
      } else if (!this.busy()) this.schedule()
    })
  }

  /**
   * The owner is no longer busy (every write applied before is acknowledged): queued writes are
   * applied on the next turn (setImmediate, so the replies to the previous group and requests
   * already read go first), or once the writers active meanwhile are back (at most lingerMs).
   */
  release (): void {
    const active = this.peak
    this.peak = this.members.length
    if (this.members.length === 0) return
    if (this.members.length >= active || this.lingerMs <= 0) {
      this.schedule()
      return
    }
    this.target = active
    this.linger ??= setTimeout(() => { this.flush() }, this.lingerMs)
  }

  /** Refuses every queued write (none of them was applied): the owner cannot take writes now. */
  rejectAll (err: unknown): void {
    this.cancelTimers()
    const group = this.members
    this.members = []
    for (const m of group) m.reject(err)
  }

  private schedule (): void {
    this.timer ??= setImmediate(() => { this.flush() })
  }

  private cancelTimers (): void {
    if (this.timer !== null) clearImmediate(this.timer)
    if (this.linger !== null) clearTimeout(this.linger)
    this.timer = null
    this.linger = null
  }

  /** Writes queued and not yet applied. */
  get size (): number {
    return this.members.length
  }

  /** Applies every queued write now, in the order they were made. */
  flush (): void {
    this.cancelTimers()
    let group = this.members
    this.members = []
    while (group.length > 0) {
      const results: unknown[] = []
      let at = -1
      try {
        const current = group
        this.init.apply((d) => {
          for (at = 0; at < current.length; at++) results.push((current[at] as Member).mutate(d))
          at = -1
        }, messageOf(current), current.length)
      } catch (err) {
        // at < 0: the change itself failed (a closed store): nobody's write is in.
        if (at < 0) {
          for (const m of group) m.reject(err)
          return
        }
        // One write refused: the change was dropped whole, so the others run again without it
        // (mutators are functions of the document, so running one again writes the same).
        const refused = at
        ;(group[refused] as Member).reject(err)
        group = group.filter((_, i) => i !== refused)
        continue
      }
      group.forEach((m, i) => { m.resolve(results[i]) })
      return
    }
  }
}

function messageOf (group: Member[]): string | undefined {
  const messages = group.map(m => m.message).filter((m): m is string => m !== undefined)
  if (messages.length <= 1) return messages[0]
  return `${messages.length} writes: ${messages.slice(0, 3).join('; ')}${messages.length > 3 ? '; ...' : ''}`
}
