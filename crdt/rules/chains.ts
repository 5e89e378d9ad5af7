/**
 * Downstream chains kept up to date incrementally: for each task, the hours of the longest chain
 * of work it starts, itself included (the urgency order's tie-break after priority, see
 * availability.ts). On a dependency DAG these are exactly downstreamHours (plan/critical-path.ts)
 * over the tasks that are not cancelled, for the cost of the tasks whose figure can change.
 *
 * The rule: a cancelled task will never run, so it weighs nothing, passes no chain on and has no
 * figure. Any other task t: chain(t) = max(0, hours(t)) + the largest chain among its dependents
 * (0 without any). A dependency cycle (possible only through concurrent edits: validation
 * refuses them) counts as one node: each task of a strongly connected component gets the sum of
 * the component's hours (added in id order, so every replica gets the same float) plus the
 * largest chain leaving it. That is a pure function of the graph, so replicas, the incremental
 * path and a full rebuild agree (test/unit/projection).
 *
 * Correctness argument for apply(): a task's chain depends only on its own weight and on what it
 * reaches along dependent edges. A changed weight (hours, cancelled or not, existence) or a
 * changed edge can change only the chain of the task at its upper end and of every task that
 * reaches it: its transitive dependencies. The region is the closure of the stale tasks through
 * dependsOn (cancelled tasks included: a superset is harmless). It is closed under "reaches", so
 * it holds whole components, and every edge leaving it ends at a task whose chain is final.
 * Tarjan's algorithm over the region emits a component only after every component it reaches,
 * so each component is settled from final figures. Work is linear in the region plus its edges:
 * a claim, progress or completion changes no weight and costs nothing here; a new or edited task
 * costs its transitive dependencies.
 */

import { stronglyConnected } from '../../plan/graph.js'

/** The dependency graph the chains are computed on (the blocking index keeps it: blocking.ts). */
export interface ChainGraph {
  node: (id: string) => { dependsOn: readonly string[] } | undefined
  /** Existing tasks that list `id` as a dependency. */
  dependentsOf: (id: string) => Iterable<string>
}

export class ChainIndex {
  /** Hours of every task that is not cancelled (missing: cancelled or gone). */
  private weights = new Map<string, number>()
  private readonly chains = new Map<string, number>()
  /** Steps taken by the last apply() (region tasks and edges), for the projection's cost figures. */
  lastWork = 0

  constructor (private readonly graph: ChainGraph) {}

  /** Each task's chain in hours (cancelled and unknown tasks have none). */
  get scores (): ReadonlyMap<string, number> {
    return this.chains
  }

  /**
   * The full build: every task's weight at once (the map, cancelled and gone tasks absent, is taken
   * over), replacing whatever the index held; the graph must hold every task already. One pass in
   * reverse topological order (Kahn's algorithm along dependent edges): a task is settled once
   * every task it leads to (its weighted dependents, itself aside) is, so the largest chain it
   * reads is final and its chain is what settle() gives a one-task component. What is left
   * reaches a cycle: that remainder is closed under "leads to" apart from settled tasks, which is
   * exactly what settleRegion needs, so cycles and what leads into them get apply()'s answer.
   * Linear in tasks plus edges, with no per-task arrays.
   */
  build (weights: Map<string, number>): void {
    for (const [id, w] of weights) if (!(w > 0)) weights.set(id, Math.max(0, w))
    this.weights = weights
    this.chains.clear()
    let work = 0
    const waiting = new Map<string, number>()
    const queue: string[] = []
    for (const id of weights.keys()) {
      let n = 0
      for (const v of this.graph.dependentsOf(id)) if (v !== id && weights.has(v)) n++
      work += n + 1
      if (n === 0) queue.push(id)
      else waiting.set(id, n)
    }
    for (let head = 0; head < queue.length; head++) {
      const u = queue[head] as string
      let best = 0
      for (const v of this.graph.dependentsOf(u)) {
        const c = v === u ? undefined : this.chains.get(v)
        if (c !== undefined && c > best) best = c
      }
      this.chains.set(u, (weights.get(u) as number) + best)
      const deps = this.graph.node(u)?.dependsOn ?? []
      for (let i = 0; i < deps.length; i++) {
        const d = deps[i] as string
        // A dependency listed twice is one edge (the graph's dependents are a set).
        if (d === u || deps.indexOf(d) < i) continue
        const n = waiting.get(d)
        if (n === undefined) continue
        if (n === 1) { waiting.delete(d); queue.push(d) } else waiting.set(d, n - 1)
      }
    }
    if (waiting.size > 0) work += this.settleRegion(new Set(waiting.keys()), new Set())
    this.lastWork = work
  }

  /**
   * Sets the given tasks' weights (undefined: cancelled or gone) after the graph has taken their
   * new dependencies, and re-derives the chains that can change: those of the stale tasks (the
   * changed ones and the former dependencies of tasks whose dependencies changed) and of their
   * transitive dependencies. Returns the ids whose chain changed.
   */
  apply (weights: ReadonlyMap<string, number | undefined>, stale: Iterable<string>): Set<string> {
    for (const [id, w] of weights) {
      if (w === undefined) this.weights.delete(id)
      else this.weights.set(id, Math.max(0, w))
    }
    let work = 0
    const region = new Set<string>()
    const stack = [...stale]
    while (stack.length > 0) {
      const x = stack.pop() as string
      if (region.has(x)) continue
      const n = this.graph.node(x)
      if (n === undefined && !this.chains.has(x)) continue
      region.add(x)
      work++
      for (const d of n?.dependsOn ?? []) if (!region.has(d)) stack.push(d)
    }
    const changed = new Set<string>()
    for (const id of region) {
      if (!this.weights.has(id) && this.chains.delete(id)) changed.add(id)
    }
    work += this.settleRegion(region, changed)
    this.lastWork = work
    return changed
  }

  /**
   * Settles the region's components (plan/graph.ts, Tarjan's: a component comes after every
   * component it reaches, so the chains it reads are final).
   */
  private settleRegion (region: ReadonlySet<string>, changed: Set<string>): number {
    let work = 0
    const ids = [...region].filter(id => this.weights.has(id))
    const at = new Map<string, number>()
    ids.forEach((id, i) => at.set(id, i))
    const successors = ids.map((id) => {
      const out: number[] = []
      for (const v of this.graph.dependentsOf(id)) {
        work++
        const j = at.get(v)
        if (j !== undefined && v !== id) out.push(j)
      }
      return out
    })
    for (const component of stronglyConnected(ids.length, successors)) {
      work += this.settle(component.map(i => ids[i] as string), changed)
    }
    return work
  }

  /** Sets one component's chain from its weights and the final chains of the tasks it leads to. */
  private settle (component: string[], changed: Set<string>): number {
    let work = 0
    let hours = 0
    if (component.length === 1) hours = this.weights.get(component[0] as string) as number
    else {
      component.sort((a, b) => a < b ? -1 : a > b ? 1 : 0)
      for (const id of component) hours += this.weights.get(id) as number
    }
    const members = component.length === 1 ? undefined : new Set(component)
    let best = 0
    for (const u of component) {
      for (const v of this.graph.dependentsOf(u)) {
        work++
        if (v === u || members?.has(v) === true || !this.weights.has(v)) continue
        best = Math.max(best, this.chains.get(v) ?? 0)
      }
    }
    const chain = hours + best
    for (const id of component) {
      if (this.chains.get(id) !== chain) {
        this.chains.set(id, chain)
        changed.add(id)
      }
    }
    return work
  }
}
