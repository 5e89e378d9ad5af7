import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { GENESIS_DOC_BASE64, MIGRATION_CHANGES_BASE64 } from '../../../crdt/genesis-bytes.js'
import { buildMigrationChanges, migrate, migrationChanges } from '../../../crdt/migrations.js'
import { buildGenesis, genesis, GENESIS_ACTOR } from '../../../crdt/schema.js'

const REGENERATE = 'the saved genesis is stale: npx tsc -p tsconfig.json && node dist/scripts/genesis-bytes.js > crdt/genesis-bytes.ts'
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

describe('genesis loaded from its saved bytes (crdt/genesis-bytes.ts)', () => {
  it('holds exactly the change buildGenesis() makes, so loaded and built replicas share every root map', () => {
    const built = A.getChanges(A.init(), buildGenesis()).map(hex)
    const saved = A.getChanges(A.init(), A.load(Buffer.from(GENESIS_DOC_BASE64, 'base64'))).map(hex)
    assert.deepEqual(saved, built, REGENERATE)
    assert.deepEqual(A.getHeads(genesis('ab'.repeat(16))), A.getHeads(buildGenesis()))
  })

  it('holds exactly the migration changes buildMigrationChanges() makes on the built genesis', () => {
    assert.deepEqual(MIGRATION_CHANGES_BASE64.length, buildMigrationChanges().length, REGENERATE)
    assert.deepEqual(migrationChanges().map(hex), buildMigrationChanges().map(hex), REGENERATE)
  })

  it('gives a fresh replica its own actor on the shared history, like a built one', () => {
    const loaded = migrate(genesis('ab'.repeat(16)))
    const built = migrate(A.clone(buildGenesis(), { actor: 'ab'.repeat(16) }))
    assert.equal(A.getActorId(loaded), 'ab'.repeat(16))
    assert.notEqual(A.getActorId(genesis()), GENESIS_ACTOR, 'a replica without an actor gets a random one, never the genesis actor')
    assert.deepEqual(A.getHeads(loaded), A.getHeads(built))
    assert.deepEqual(hex(A.saveSince(loaded, [])), hex(A.saveSince(built, [])), 'a fresh node persists the same bytes either way')
    // Both accept one another's later changes: one history.
    const a = A.change(loaded, (d) => { d.plan.title = new A.ImmutableString('from the loaded replica') })
    const [b] = A.applyChanges(built, [A.getLastLocalChange(a) as Uint8Array])
    assert.equal(String(b.plan.title), 'from the loaded replica')
  })
})
