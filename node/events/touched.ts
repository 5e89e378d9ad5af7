import type * as A from '@automerge/automerge'
import { BUCKETED_COLLECTIONS } from '../../crdt/schema.js'

/** The kinds of entity a live event can be about. */
export const ENTITY_KINDS = { tasks: 'task', assignments: 'assignment', evidence: 'evidence', mergeQueue: 'merge', agents: 'agent', epics: 'epic', snapshots: 'progress-snapshot', plan: 'plan' } as const
export type EntityKind = typeof ENTITY_KINDS[keyof typeof ENTITY_KINDS]

export interface Touched {
  kind: EntityKind
  id: string
  /** created: the entity's map appeared in this change; deleted: it went away; else updated. */
  op: 'created' | 'updated' | 'deleted'
}

const bucketed = new Set<string>(BUCKETED_COLLECTIONS)

/**
 * Which entities a change touched, from its Automerge patches (pure). Bucketed collections
 * have the id at depth 2 (collection/bucket/id), the flat ones at depth 1.
 */
export function touchedEntities (patches: A.Patch[]): Touched[] {
  const seen = new Map<string, Touched>()
  for (const p of patches) {
    const coll = p.path[0]
    if (typeof coll !== 'string' || !(coll in ENTITY_KINDS)) continue
    const kind = ENTITY_KINDS[coll as keyof typeof ENTITY_KINDS]
    if (kind === 'plan') {
      seen.set('plan:', { kind, id: '', op: 'updated' })
      continue
    }
    const depth = bucketed.has(coll) ? 2 : 1
    const id = p.path[depth]
    if (typeof id !== 'string') continue
    const atEntity = p.path.length === depth + 1
    const op: Touched['op'] = atEntity && p.action === 'put' ? 'created' : atEntity && p.action === 'del' ? 'deleted' : 'updated'
    const key = `${kind}:${id}`
    const prev = seen.get(key)
    // A create followed by field puts in the same change is still a create.
    if (prev === undefined || (prev.op === 'updated' && op !== 'updated')) seen.set(key, { kind, id, op })
  }
  return [...seen.values()]
}
