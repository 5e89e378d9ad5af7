import * as A from '@automerge/automerge'
import { MIGRATION_CHANGES_BASE64 } from './genesis-bytes.js'
import { buildGenesis, GENESIS_ACTOR, type DocAlert, type FleetDoc } from './schema.js'

/**
 * Root maps added after the first release. A map created by two nodes concurrently would hide one
 * side's entries behind an Automerge conflict, and changing genesis would split old replicas from
 * new ones. So each addition is one more change like genesis: the genesis actor, time 0, built on
 * genesis alone, hence byte-identical (same hash) on every node. Applying it to a replica that
 * already has it changes nothing; an older node that receives it carries a key it does not read.
 */

let cached: Uint8Array[] | null = null

/**
 * The migration changes, in order (deterministic bytes: see above), as saved in
 * crdt/genesis-bytes.ts: building them needs genesis built first, which a node start skips.
 */
export function migrationChanges (): Uint8Array[] {
  cached ??= MIGRATION_CHANGES_BASE64.map(b => new Uint8Array(Buffer.from(b, 'base64')))
  return cached
}

/**
 * The definition of the migration changes, on the definition of genesis (a unit test keeps
 * MIGRATION_CHANGES_BASE64 equal to what this builds).
 */
export function buildMigrationChanges (): Uint8Array[] {
  const out: Uint8Array[] = []
  const doc = A.change(A.clone(buildGenesis(), { actor: GENESIS_ACTOR }), { time: 0, message: 'schema: alerts' }, (d) => { d.alerts = {} as Record<string, DocAlert> })
  const change = A.getLastLocalChange(doc)
  if (change !== undefined) out.push(change)
  return out
}

/** Applies the migrations the document lacks (none missing: the same document back). */
export function migrate<T> (doc: A.Doc<T>): A.Doc<T> {
  const [next] = A.applyChanges(doc, migrationChanges())
  return next
}
