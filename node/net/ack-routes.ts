/**
 * Routes for claim acknowledgements over the bounded overlay. A node holds sessions with a few
 * neighbours only (--max-peers), so the claimant it must acknowledge is usually not one of them.
 * Every member announces its neighbours (announce and member-list frames), which gives each node
 * the overlay's graph; an ack then travels hop by hop along a shortest path of live members,
 * instead of as an announcement that every node receives (n acks x n deliveries per claim).
 */

export interface RouteGraph {
  selfId: string
  /** Peers we hold a session with: the only possible first hops. */
  neighbours: () => ReadonlySet<string>
  /** The neighbours a member last announced (empty if unknown). */
  neighboursOf: (node: string) => readonly string[]
  /** Live members only forward (a dead or departed one would swallow the ack). */
  isLive: (node: string) => boolean
  /** Every member we know a neighbour list of (the graph's other vertices). */
  members: () => Iterable<string>
}

/**
 * Next hop toward every reachable member: a breadth-first search from this node over the
 * undirected graph of announced links (a link either end announced counts: announcements of the
 * two ends may not have arrived together). O(members + links), run only when the graph changed.
 */
export function nextHops (g: RouteGraph): Map<string, string> {
  // Undirected adjacency: a link is known from either end's announcement.
  const adj = new Map<string, Set<string>>()
  const link = (x: string, y: string): void => {
    if (x === y) return
    let s = adj.get(x)
    if (s === undefined) adj.set(x, s = new Set())
    s.add(y)
    let t = adj.get(y)
    if (t === undefined) adj.set(y, t = new Set())
    t.add(x)
  }
  for (const m of g.members()) {
    if (m === g.selfId || !g.isLive(m)) continue
    for (const n of g.neighboursOf(m)) if (n === g.selfId || g.isLive(n)) link(m, n)
  }
  const hops = new Map<string, string>()
  const queue: string[] = []
  // Our own links are what we hold now, not what we announced.
  for (const n of g.neighbours()) {
    if (hops.has(n)) continue
    hops.set(n, n)
    queue.push(n)
  }
  for (let i = 0; i < queue.length; i++) {
    const at = queue[i] as string
    const first = hops.get(at) as string
    for (const next of adj.get(at) ?? []) {
      if (next === g.selfId || hops.has(next)) continue
      hops.set(next, first)
      queue.push(next)
    }
  }
  return hops
}

/** nextHops cached until the graph changes (invalidate() on any link or liveness change). */
export class AckRoutes {
  private table: Map<string, string> | null = null
  /** Route tables computed (a counter for tests and metrics: per graph change, not per ack). */
  computed = 0

  constructor (private readonly graph: RouteGraph) {}

  invalidate (): void {
    this.table = null
  }

  /** The neighbour to hand an ack for `dest` to, or null if no known path reaches it. */
  nextHop (dest: string): string | null {
    if (this.graph.neighbours().has(dest)) return dest
    if (this.table === null) {
      this.table = nextHops(this.graph)
      this.computed++
    }
    const hop = this.table.get(dest)
    // The table may predate a session that closed since.
    return hop !== undefined && this.graph.neighbours().has(hop) ? hop : null
  }
}
