import type { FleetDoc } from './schema.js'

/**
 * Most writes a group holds before it is applied without waiting for the end of the turn: bounds
 * one change's size and the re-runs a refused write costs the others (see ChangeGroup.flush).
 */
export const DEFAULT_MAX_GROUP = 64

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
}

/**
 * Joins the writes of one event-loop turn into one Automerge change. A change has a fixed cost
 * on every replica (encoding, hashing, signing and gossiping it, verifying and applying it, one
 * projection update), so writes arriving together (concurrent HTTP requests) pay it once. Writes
 * still apply in the order they were made, and each caller gets its own result or error: a
 * mutator that throws is dropped and the rest of the group runs again without it.
 *
 * Only for writes whose callers need nothing but their own effect in the document: until the end
 * of the turn a queued write is not in the document. Claims, whose correctness argument needs
 * the read and the write in one synchronous step, go through DocStore.change.
 */
export class ChangeGroup {
  private members: Member[] = []
  private timer: NodeJS.Immediate | null = null
  private readonly maxGroup: number

  constructor (private readonly init: ChangeGroupInit) {
    this.maxGroup = init.maxGroup ?? DEFAULT_MAX_GROUP
  }

  /** Queues a write for the end of this turn; resolves with its mutator's result once applied. */
  async add<R> (mutate: (doc: FleetDoc) => R, message?: string): Promise<R> {
    return await new Promise<R>((resolve, reject) => {
      this.members.push({ mutate, message, resolve: resolve as (r: unknown) => void, reject })
      if (this.members.length >= this.maxGroup) this.flush()
      else this.timer ??= setImmediate(() => { this.flush() })
    })
  }

  /** Writes queued and not yet applied. */
  get size (): number {
    return this.members.length
  }

  /** Applies every queued write now, in the order they were made. */
  flush (): void {
    if (this.timer !== null) clearImmediate(this.timer)
    this.timer = null
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
