/** A step into the plan object: an object key or an array index. */
export type PathSegment = string | number

const ID_LIKE = /^[A-Za-z0-9._-]{1,64}$/

/** A stable map key for a path. */
export function pathKey (path: readonly PathSegment[]): string {
  return JSON.stringify(path)
}

/**
 * Renders a path for people. Items of `tasks` and `epics` are named by their id when the source
 * gives them a usable one (`tasks.T1.2.estimatedHours`), because an index means nothing to someone
 * reading a Markdown plan; otherwise by index (`tasks[3]`).
 */
export function formatPath (path: readonly PathSegment[], source?: unknown): string {
  let out = ''
  for (let i = 0; i < path.length; i++) {
    const seg = path[i] as PathSegment
    if (typeof seg === 'number') {
      const id = i === 1 ? itemId(source, path[0], seg) : undefined
      out += id === undefined ? `[${seg}]` : `.${id}`
    } else {
      out += out === '' ? seg : `.${seg}`
    }
  }
  return out
}

function itemId (source: unknown, collection: PathSegment | undefined, index: number): string | undefined {
  if (collection !== 'tasks' && collection !== 'epics') return undefined
  if (typeof source !== 'object' || source === null) return undefined
  const list = (source as Record<string, unknown>)[collection]
  if (!Array.isArray(list)) return undefined
  const item: unknown = list[index]
  if (typeof item !== 'object' || item === null) return undefined
  const id = (item as Record<string, unknown>).id
  return typeof id === 'string' && ID_LIKE.test(id) ? id : undefined
}

/** The value at a path, or undefined when any step is missing. */
export function valueAt (root: unknown, path: readonly PathSegment[]): unknown {
  let cur = root
  for (const seg of path) {
    if (typeof cur !== 'object' || cur === null || !Object.hasOwn(cur, seg)) return undefined
    cur = (cur as Record<PathSegment, unknown>)[seg]
  }
  return cur
}
