/**
 * Strongly connected components of a directed graph over nodes 0..n-1 (Tarjan's algorithm, with an
 * explicit stack so a long dependency chain cannot overflow the call stack).
 */
export function stronglyConnected (n: number, successors: readonly (readonly number[])[]): number[][] {
  const index = new Array<number>(n).fill(-1)
  const low = new Array<number>(n).fill(0)
  const onStack = new Array<boolean>(n).fill(false)
  const stack: number[] = []
  const components: number[][] = []
  let counter = 0
  const visit = (v: number): void => {
    index[v] = counter
    low[v] = counter
    counter++
    stack.push(v)
    onStack[v] = true
  }
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue
    visit(root)
    const work: Array<{ node: number, next: number }> = [{ node: root, next: 0 }]
    while (work.length > 0) {
      const frame = work[work.length - 1] as { node: number, next: number }
      const v = frame.node
      const edges = successors[v] ?? []
      if (frame.next < edges.length) {
        const w = edges[frame.next++] as number
        if (index[w] === -1) {
          visit(w)
          work.push({ node: w, next: 0 })
        } else if (onStack[w] === true) {
          low[v] = Math.min(low[v] as number, index[w] as number)
        }
        continue
      }
      work.pop()
      const parent = work[work.length - 1]
      if (parent !== undefined) low[parent.node] = Math.min(low[parent.node] as number, low[v] as number)
      if (low[v] === index[v]) {
        const component: number[] = []
        let w: number
        do {
          w = stack.pop() as number
          onStack[w] = false
          component.push(w)
        } while (w !== v)
        components.push(component)
      }
    }
  }
  return components
}

/**
 * The shortest cycle through start that stays inside members (a strongly connected component),
 * as the node list start, ..., start; undefined when there is none.
 */
export function cycleThrough (start: number, members: ReadonlySet<number>, successors: readonly (readonly number[])[]): number[] | undefined {
  const parent = new Map<number, number>()
  const queue = [start]
  for (let head = 0; head < queue.length; head++) {
    const u = queue[head] as number
    for (const v of successors[u] ?? []) {
      if (!members.has(v)) continue
      if (v === start) {
        const steps: number[] = []
        for (let x = u; x !== start; x = parent.get(x) as number) steps.push(x)
        return [start, ...steps.reverse(), start]
      }
      if (!parent.has(v) && v !== start) {
        parent.set(v, u)
        queue.push(v)
      }
    }
  }
  return undefined
}

/**
 * If giving `start` the dependencies `deps` would close a cycle, the cycle as a list of ids
 * starting and ending with `start` (e.g. [T1, T2, T3, T1]); else null. Iterative DFS.
 */
export function findCycle (start: string, deps: readonly string[], depsOf: (id: string) => readonly string[]): string[] | null {
  const parent = new Map<string, string>()
  const stack: string[] = []
  for (const d of deps) {
    if (!parent.has(d)) { parent.set(d, start); stack.push(d) }
  }
  while (stack.length > 0) {
    const v = stack.pop() as string
    if (v === start) {
      const path = [start]
      let cur = parent.get(start) as string
      while (cur !== start) { path.push(cur); cur = parent.get(cur) as string }
      path.push(start)
      return path.reverse()
    }
    for (const w of depsOf(v)) {
      if (!parent.has(w)) { parent.set(w, v); stack.push(w) }
    }
  }
  return null
}
