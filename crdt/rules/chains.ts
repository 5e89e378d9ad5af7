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
   * reverse topological order (Kahn's algorithm): a task is settled once every task it leads to
   * (its weighted dependents, itself aside) is, each of which has pushed its chain down to it, so
   * the largest chain it has received is final and its chain is what settle() gives a one-task
   * component. What is left reaches a cycle: that remainder is closed under "leads to" apart from
   * settled tasks, which is exactly what settleRegion needs, so cycles and what leads into them get
   * apply()'s answer. Linear in tasks plus edges. Tasks are numbered and the edges, counts and
   * figures kept in typed arrays: a lookup in a string-keyed map of 100,000 tasks costs ~0.3 us on
   * the 2-core machine, and a pass keyed by id made eight per task (0.8 s at 100,000).
   */
  build (weights: Map<string, number>): void {
    this.weights = weights
    this.chains.clear()
    const n = weights.size
    const ids = new Array<string>(n)
    const hours = new Float64Array(n)
    const at = new Map<string, number>()
    let u = 0
    for (const [id, w] of weights) {
      const h = w > 0 ? w : Math.max(0, w)
      if (!Object.is(h, w)) weights.set(id, h)
      ids[u] = id
      hours[u] = h
      at.set(id, u++)
    }
    // Edges from each task to its weighted dependencies (listed twice: one edge, as in the graph's
    // dependents sets), and how many weighted dependents each task waits for.
    const start = new Int32Array(n + 1)
    const edges: number[] = []
    const waiting = new Int32Array(n)
    for (u = 0; u < n; u++) {
      start[u] = edges.length
      const id = ids[u] as string
      const deps = this.graph.node(id)?.dependsOn ?? []
      for (let k = 0; k < deps.length; k++) {
        const d = deps[k] as string
        const j = d === id || deps.indexOf(d) < k ? undefined : at.get(d)
        if (j === undefined) continue
        edges.push(j)
        waiting[j] = (waiting[j] as number) + 1
      }
    }
    start[n] = edges.length
    const queue = new Int32Array(n)
    let tail = 0
    for (u = 0; u < n; u++) if (waiting[u] === 0) queue[tail++] = u
    const best = new Float64Array(n)
    for (let head = 0; head < tail; head++) {
      u = queue[head] as number
      const chain = (hours[u] as number) + (best[u] as number)
      this.chains.set(ids[u] as string, chain)
      for (let e = start[u] as number; e < (start[u + 1] as number); e++) {
        const j = edges[e] as number
        if (chain > (best[j] as number)) best[j] = chain
        const left = (waiting[j] as number) - 1
        waiting[j] = left
        if (left === 0) queue[tail++] = j
      }
    }
    let work = n + edges.length
    if (tail < n) work += this.settleRegion(new Set(ids.filter((_, k) => (waiting[k] as number) > 0)), new Set())
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
