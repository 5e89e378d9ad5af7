import * as A from '@automerge/automerge'

/**
 * A guard against a fault in Automerge 3.5's materialized view (the plain objects `doc.x.y`
 * reads), found by the projection property test.
 *
 * The fault: a replica shows key k = v1 (written by actor 1), and one applyChanges batch (or one
 * sync message) brings both actor 1's delete of v1 and a put of v3 by actor 3 that was concurrent
 * with it and lost to v1 in Automerge's order. The document itself now holds k = v3 (save/load
 * and the backend agree), but the patch emitted is a bare `conflict` patch with no `put`, so the
 * materialized view keeps showing the deleted v1. Applied one change at a time it is right. A
 * replica could show a stale value for ever, and two replicas with the same heads could differ.
 * (The node deletes keys only when it prunes resolved alert records; the fault still had to be
 * closed, since nothing prevents a concurrent write to a key being pruned.)
 *
 * The check is cheap: only `conflict` patches (rare: concurrent writes to one key) are compared
 * with the backend. A mismatch rebuilds the view from the document's bytes (costly, but only
 * when the fault occurred), and the patches stay valid: they already name the touched keys.
 */

type Obj = Record<string | number, unknown>

/** The paths of `conflict` patches whose materialized value differs from the document's. */
export function staleConflicts (doc: A.Doc<unknown>, patches: readonly A.Patch[]): A.Prop[][] {
  const stale: A.Prop[][] = []
  for (const p of patches) {
    if (p.action !== 'conflict' || p.path.length === 0) continue
    if (!matchesBackend(doc, p.path)) stale.push(p.path)
  }
  return stale
}

function matchesBackend (doc: A.Doc<unknown>, path: readonly A.Prop[]): boolean {
  let parent: unknown = doc
  for (const key of path.slice(0, -1)) {
    if (parent === null || typeof parent !== 'object') return false
    parent = (parent as Obj)[key]
  }
  if (parent === null || typeof parent !== 'object') return false
  const objId = A.getObjectId(parent)
  if (objId === null) return false
  const key = path[path.length - 1] as A.Prop
  const shown = (parent as Obj)[key]
  const held = A.getBackend(doc).getWithType(objId, key)
  return sameValue(shown, held)
}

/** Whether a materialized value is the backend's `[type, value]` (objects compared by id). */
function sameValue (shown: unknown, held: ReturnType<ReturnType<typeof A.getBackend>['getWithType']>): boolean {
  if (held === null || held === undefined) return shown === undefined
  const [type, value] = held
  if (type === 'map' || type === 'list' || type === 'text' || type === 'table') {
    if (typeof shown === 'string') return type === 'text' // text materializes as a plain string
    return shown !== null && typeof shown === 'object' && A.getObjectId(shown) === value
  }
  if (shown instanceof A.ImmutableString) return type === 'str' && shown.val === value
  if (shown instanceof A.Counter) return type === 'counter' && shown.value === value
  if (shown instanceof Date) return type === 'timestamp' && value instanceof Date && shown.getTime() === value.getTime()
  if (shown instanceof Uint8Array) return value instanceof Uint8Array && Buffer.compare(shown, value) === 0
  return shown === value
}

/** A document whose materialized view is built afresh from its bytes (same actor, same heads). */
export function rematerialize<T> (doc: A.Doc<T>): A.Doc<T> {
  return A.load<T>(A.save(doc), { actor: A.getActorId(doc) })
}

/** The document to keep after remote changes: `after` itself, or a rebuilt view if it went stale. */
export function checkedView<T> (after: A.Doc<T>, patches: readonly A.Patch[]): { doc: A.Doc<T>, stale: A.Prop[][] } {
  const stale = staleConflicts(after as A.Doc<unknown>, patches)
  return { doc: stale.length === 0 ? after : rematerialize(after), stale }
}
