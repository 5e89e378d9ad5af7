import type { SchedStatus } from './availability.js'

/**
 * Blocking kept up to date incrementally: the same answer as blockedReasons (availability.ts)
 * over the whole task list, for the cost of the tasks whose blocking can change.
 *
 * The rule (see blockedReasons): a pending task is blocked when a dependency is missing, failed,
 * cancelled or blocked; a blocked pending task blocks its pending dependents in turn. Distance is
 * the number of blocked hops to a task with a direct cause (0 for that task itself); a task's
 * reason names its first listed dependency of least distance, so it always points towards the
 * root cause, never round a cycle (a cycle of pending tasks with no outside cause stays unblocked:
 * the least fixed point).
 *
 * Correctness argument for apply(): a task's blocking is a function of its own node and the
 * blocking of its dependencies, so only tasks downstream of a changed node can change.
 *   1. Invalidate: the changed tasks, the pending dependents of a task whose direct cause changed
 *      (appeared, went away or changed wording), and, transitively, every blocked dependent of an
 *      invalidated blocked task (its reason may lean on it). Tasks outside this region keep
 *      blocking that was derived only from valid inputs.
 *   2. Recompute the region like the breadth-first search of blockedReasons, level by level: a
 *      region task starts at distance 0 (direct cause) or 1 + the least distance of a valid
 *      blocked dependency outside the region. Finishing a level fixes its tasks' reasons (every
 *      dependency nearer the root is final by then); their pending dependents get level d + 1,
 *      and a dependent outside the region joins it when the new blocking can lower or re-word its
 *      own (it is unblocked, or at distance >= d + 1), unless the finished task came out exactly
 *      as before (then nothing outside read anything new).
 * Work is linear in the region plus its edges; a claim of an unblocked task, a progress update or
 * a new task touches one task and its direct dependents at most.
 */

export interface BlockNode {
  /** Effective status before blocking (claims and leases applied). */
  status: SchedStatus
  dependsOn: readonly string[]
}

export interface BlockInfo {
  distance: number
  rootCause: string
  reason: string
}

export class BlockingIndex {
  private nodes = new Map<string, BlockNode>()
  /** Dependency id (existing or not) -> tasks that list it. */
  private readonly dependents = new Map<string, Set<string>>()
  private readonly blocked = new Map<string, BlockInfo>()
  /** Tasks visited by the last apply(), for tests that check the work stays local. */
  lastWork = 0

  get (id: string): BlockInfo | undefined {
    return this.blocked.get(id)
  }

  node (id: string): BlockNode | undefined {
    return this.nodes.get(id)
  }

  /** Tasks that list `id` as a dependency (existing or not). */
  dependentsOf (id: string): ReadonlySet<string> {
    return this.dependents.get(id) ?? EMPTY
  }

  /**
   * The full build: every task's node at once (the map is taken over, not copied), replacing
   * whatever the index held. One breadth-first pass over the blocked part, as blockedReasons does:
   * level 0 is every pending task with a dependency that has a direct cause, level d + 1 the
   * pending dependents of level d not reached before, so a task's level is its distance. The
   * levels are a topological order of the blocked part (a task is reached from a dependency one
   * level nearer the root, and cycles with no outside cause are never reached), so when a task is
   * first reached from level d every level-d task is already known and none below d is among its
   * dependencies: infoAt(id, d + 1) names its first listed dependency at distance d, the rule of
   * the class comment. Linear in tasks plus edges; the same result as apply() with every task.
   */
  build (nodes: Map<string, BlockNode>): void {
    this.nodes = nodes
    this.dependents.clear()
    this.blocked.clear()
    let work = 0
    for (const [id, n] of nodes) {
      for (const d of n.dependsOn) {
        let set = this.dependents.get(d)
        if (set === undefined) this.dependents.set(d, set = new Set())
        set.add(id)
      }
    }
    const queue: string[] = []
    for (const [id, n] of nodes) {
      work++
      if (n.status !== 'pending') continue
      for (const dep of n.dependsOn) {
        const cause = this.directCause(dep)
        if (cause === undefined) continue
        this.blocked.set(id, { distance: 0, rootCause: cause, reason: `dependency ${cause}` })
        queue.push(id)
        break
      }
    }
    for (let head = 0; head < queue.length; head++) {
      const u = queue[head] as string
      const d = (this.blocked.get(u) as BlockInfo).distance
      for (const v of this.dependentsOf(u)) {
        work++
        if (this.blocked.has(v) || nodes.get(v)?.status !== 'pending') continue
        this.blocked.set(v, this.infoAt(v, d + 1))
        queue.push(v)
      }
    }
    this.lastWork = work
  }

  /**
   * Sets (or, with undefined, removes) the given tasks' nodes and re-derives the blocking that
   * can change. Returns the ids whose blocking changed (became blocked, unblocked, or re-worded).
   * One function on purpose (about 85 lines): its phases share the worklists and visited sets, and
   * the argument in the class comment follows them in this order.
   */
  apply (changes: ReadonlyMap<string, BlockNode | undefined>): Set<string> {
    const region = new Set<string>()
    let work = 0
    for (const [id, node] of changes) {
      const before = this.directCause(id)
      const old = this.nodes.get(id)
      if (old !== undefined) for (const d of old.dependsOn) this.dependents.get(d)?.delete(id)
      if (node === undefined) this.nodes.delete(id)
      else {
        this.nodes.set(id, node)
        for (const d of node.dependsOn) {
          let set = this.dependents.get(d)
          if (set === undefined) this.dependents.set(d, set = new Set())
          set.add(id)
        }
      }
      if (old !== undefined) for (const d of old.dependsOn) if (this.dependents.get(d)?.size === 0) this.dependents.delete(d)
      region.add(id)
      if (before !== this.directCause(id)) for (const y of this.dependentsOf(id)) { region.add(y); work++ }
    }
    // 1. Invalidate what leaned on an invalidated blocked task.
    const stack = [...region]
    while (stack.length > 0) {
      const x = stack.pop() as string
      work++
      if (!this.blocked.has(x)) continue
      for (const y of this.dependentsOf(x)) {
        if (region.has(y) || !this.blocked.has(y)) continue
        region.add(y)
        stack.push(y)
      }
    }
    const old = new Map<string, BlockInfo | undefined>()
    for (const id of region) {
      old.set(id, this.blocked.get(id))
      this.blocked.delete(id)
    }
    // 2. Recompute level by level.
    const tentative = new Map<string, number>()
    const levels = new LevelQueue()
    const propose = (id: string, level: number): void => {
      const t = tentative.get(id)
      if (t !== undefined && t <= level) return
      tentative.set(id, level)
      levels.push(level, id)
    }
    for (const id of region) {
      const start = this.startLevel(id)
      if (start !== undefined) propose(id, start)
    }
    const done = new Set<string>()
    for (let batch = levels.pop(); batch !== undefined; batch = levels.pop()) {
      const [d, ids] = batch
      const fixed: string[] = []
      for (const id of ids) {
        if (done.has(id) || tentative.get(id) !== d) continue
        done.add(id)
        this.blocked.set(id, this.infoAt(id, d))
        fixed.push(id)
        work++
      }
      for (const id of fixed) {
        const same = sameInfo(old.get(id), this.blocked.get(id))
        for (const z of this.dependentsOf(id)) {
          work++
          if (done.has(z) || this.nodes.get(z)?.status !== 'pending') continue
          if (!region.has(z)) {
            if (same) continue
            const b = this.blocked.get(z)
            if (b !== undefined && b.distance < d + 1) continue
            region.add(z)
            old.set(z, b)
            this.blocked.delete(z)
            const start = this.startLevel(z)
            if (start !== undefined) propose(z, start)
          }
          propose(z, d + 1)
        }
      }
    }
    this.lastWork = work
    const changed = new Set<string>()
    for (const id of region) if (!sameInfo(old.get(id), this.blocked.get(id))) changed.add(id)
    return changed
  }

  /** Why dependents of `id` are blocked by it directly (missing, failed, cancelled, blocked input). */
  private directCause (id: string): string | undefined {
    const n = this.nodes.get(id)
    if (n === undefined) return `${id} does not exist`
    if (n.status === 'failed' || n.status === 'cancelled') return `${id} ${n.status}`
    if (n.status === 'blocked') return `${id} is blocked`
    return undefined
  }

  /**
   * A region task's first level: 0 with a direct cause, else 1 + the nearest blocked dependency
   * known now (outside the region, or already fixed in it; the others were cleared).
   */
  private startLevel (id: string): number | undefined {
    const n = this.nodes.get(id)
    if (n === undefined || n.status !== 'pending') return undefined
    let best: number | undefined
    for (const d of n.dependsOn) {
      if (this.directCause(d) !== undefined) return 0
      const b = this.blocked.get(d)
      if (b !== undefined && (best === undefined || b.distance + 1 < best)) best = b.distance + 1
    }
    return best
  }

  /** The blocking of a task fixed at distance d: every dependency nearer the root is final now. */
  private infoAt (id: string, d: number): BlockInfo {
    const n = this.nodes.get(id) as BlockNode
    if (d === 0) {
      for (const dep of n.dependsOn) {
        const cause = this.directCause(dep)
        if (cause !== undefined) return { distance: 0, rootCause: cause, reason: `dependency ${cause}` }
      }
    }
    let best: string | undefined
    let bestInfo: BlockInfo | undefined
    for (const dep of n.dependsOn) {
      const b = this.blocked.get(dep)
      if (b !== undefined && (bestInfo === undefined || b.distance < bestInfo.distance)) { best = dep; bestInfo = b }
    }
    if (best === undefined || bestInfo === undefined || bestInfo.distance !== d - 1) throw new Error(`blocking of ${id}: no dependency at distance ${d - 1}`)
    return { distance: d, rootCause: bestInfo.rootCause, reason: `dependency ${best} is blocked (${bestInfo.rootCause})` }
  }
}

const EMPTY: ReadonlySet<string> = new Set()

function sameInfo (a: BlockInfo | undefined, b: BlockInfo | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.distance === b.distance && a.rootCause === b.rootCause && a.reason === b.reason)
}

/** Buckets by level, popped lowest first (levels are few and mostly consecutive). */
class LevelQueue {
  private readonly buckets = new Map<number, string[]>()
  private readonly heap: number[] = []

  push (level: number, id: string): void {
    const b = this.buckets.get(level)
    if (b !== undefined) { b.push(id); return }
    this.buckets.set(level, [id])
    const h = this.heap
    h.push(level)
    for (let i = h.length - 1; i > 0;) {
      const p = (i - 1) >> 1
      if ((h[p] as number) <= level) break
      h[i] = h[p] as number
      h[p] = level
      i = p
    }
  }

  pop (): [number, string[]] | undefined {
    const h = this.heap
    if (h.length === 0) return undefined
    const top = h[0] as number
    const last = h.pop() as number
    if (h.length > 0) {
      h[0] = last
      for (let i = 0; ;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && (h[l] as number) < (h[m] as number)) m = l
        if (r < h.length && (h[r] as number) < (h[m] as number)) m = r
        if (m === i) break
        const t = h[i] as number
        h[i] = h[m] as number
        h[m] = t
        i = m
      }
    }
    const ids = this.buckets.get(top) as string[]
    this.buckets.delete(top)
    return [top, ids]
  }
}
