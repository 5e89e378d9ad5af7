import * as A from '@automerge/automerge'
import { genesis, str, bucketOf, read, type FleetDoc } from '../../../crdt/schema.js'
import { toClaimView, type ClaimState, type ClaimView } from '../../../crdt/rules/claims.js'
import type { Draws } from '../../helpers/property.js'

/** Test helpers that put claims into real Automerge replicas and read them back. */

export type Doc = A.Doc<FleetDoc>

// genesis is deterministic, so build it once and give each replica its own actor by cloning.
let base: Doc | undefined
let baseHeads: A.Heads = []

export function replica (actor: string): Doc {
  if (base === undefined) {
    base = genesis()
    baseHeads = A.getHeads(base)
  }
  return A.clone(base, { actor })
}

export interface NewClaim {
  id: string
  taskId: string
  agentId?: string
  nodeId?: string
  attempt: number
  clock: number
  state?: ClaimState
}

/** Inserts a claim the way a node would: one change writing a DocAssignment into its bucket. */
export function addClaim (doc: Doc, c: NewClaim): Doc {
  return A.change(doc, (d) => {
    const bucket = d.assignments[bucketOf(c.id)]
    if (bucket === undefined) throw new Error(`no bucket for ${c.id}`)
    bucket[c.id] = {
      id: str(c.id),
      taskId: str(c.taskId),
      agentId: str(c.agentId ?? 'agent'),
      confirmedAt: null,
      nodeId: str(c.nodeId ?? 'node'),
      attempt: c.attempt,
      clock: c.clock,
      claimedAt: 0,
      state: str(c.state ?? 'active'),
      progress: 0,
      message: null,
      summary: null,
      endedAt: null,
      reason: null
    }
  })
}

/** Every claim of a task in a replica, as ClaimViews. */
export function claimsOf (doc: Doc, taskId: string): ClaimView[] {
  const out: ClaimView[] = []
  for (const bucket of Object.values(doc.assignments)) {
    for (const a of Object.values(bucket)) {
      if (read(a.taskId) !== taskId) continue
      const v = toClaimView(a)
      if (v === null) throw new Error(`unreadable claim ${read(a.id)}`)
      out.push(v)
    }
  }
  return out
}

/**
 * Brings remote's changes into local, by whole-doc merge or by shipping changes, chosen at random.
 * Shipping everything after genesis (duplicates are skipped) is much cheaper in Automerge than
 * A.merge's first diff against a fresh clone, so merge is the rarer path.
 */
export function mergeInto (local: Doc, remote: Doc, rng: Draws): Doc {
  if (rng.chance(0.25)) return A.merge(local, remote)
  const [next] = A.applyChanges(local, A.getChangesSince(remote, baseHeads))
  return next
}

export function sortedHeads (doc: Doc): string {
  return [...A.getHeads(doc)].sort().join(',')
}
