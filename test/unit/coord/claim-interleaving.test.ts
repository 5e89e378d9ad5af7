import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { DocStore } from '../../../crdt/doc-store.js'
import { DEFAULT_COORDINATION } from '../../../node/coord/settings.js'
import { silentLogger } from '../../../node/logger.js'
import { createServices, type Services } from '../../../node/services/index.js'
import { ClaimRefusedError, NotCaughtUpError } from '../../../crdt/errors.js'
import { MemoryChunkStore } from '../../../crdt/storage/memory-chunk-store.js'

/**
 * Two in-process replicas wired by hand, so the exact interleaving of issue 17 can be replayed:
 * node B starts a claim while it lacks changes node A announced, A's competing claim reaches B
 * during B's catch-up wait, and only then does B write its claim.
 */
interface Replica { store: DocStore, services: Services, peers: Array<{ nodeId: string, heads: string[] }> }

async function replica (nodeId: string, actor: string): Promise<Replica> {
  const store = await DocStore.open({ storage: new MemoryChunkStore(), logger: silentLogger(), actor })
  const r: Replica = { store, services: undefined as unknown as Services, peers: [] }
  r.services = createServices({ store, nodeId, settings: { ...DEFAULT_COORDINATION, joinGraceMs: 0 }, livePeers: () => r.peers })
  return r
}

/** Ships every change `from` has and `to` lacks (what gossip or sync would deliver). */
function ship (from: Replica, to: Replica): void {
  const changes = A.getChanges(to.store.doc, from.store.doc)
  if (changes.length > 0) to.store.applyRemote(changes)
}

async function settled<T> (p: Promise<T>): Promise<{ value?: T, err?: unknown }> {
  try { return { value: await p } } catch (err) { return { err } }
}

describe('claims: interleavings around the catch-up wait (issue 17)', () => {
  let a: Replica
  let b: Replica
  beforeEach(async () => {
    a = await replica('node-a', 'aa'.repeat(16))
    b = await replica('node-b', 'bb'.repeat(16))
    await a.services.tasks.create({ id: 'T', title: 'contested', role: 'dev' })
    await a.services.agents.register({ id: 'agent-a', role: 'dev' })
    await b.services.agents.register({ id: 'agent-b', role: 'dev' })
    ship(a, b)
    ship(b, a)
  })
  afterEach(async () => {
    await a.store.close()
    await b.store.close()
  })

  it('a claim whose catch-up wait brought in a competing claim is refused, never written with a stale clock', async () => {
    // A claims first; B has heard A announce heads it lacks, so B's claim waits to catch up.
    const claimA = await a.services.assignments.claim({ taskId: 'T', agentId: 'agent-a' })
    b.peers = [{ nodeId: 'node-a', heads: a.store.heads() }]
    const pending = settled(b.services.assignments.claim({ taskId: 'T', agentId: 'agent-b' }))
    // A's claim arrives while B waits.
    await new Promise(resolve => setTimeout(resolve, 30))
    ship(a, b)
    const outcome = await pending
    const claimsOfT = b.services.projection.get().claimsByTask.get('T') ?? []
    if (outcome.value !== undefined) {
      // Written after B held A's claim: it must sort after it, whatever the ids.
      const mine = claimsOfT.find(c => c.id === outcome.value?.id)
      assert.ok(mine !== undefined && mine.clock > claimA.clock, `B's claim has clock ${mine?.clock}, A's has ${claimA.clock}, and B had A's claim when it wrote`)
    } else {
      assert.ok(outcome.err instanceof ClaimRefusedError, `expected 409 (task claimed), got ${String(outcome.err)}`)
      assert.deepEqual(claimsOfT.map(c => c.id), [claimA.id], 'B wrote a claim although it refused')
    }
    ship(b, a)
    for (const r of [a, b]) assert.equal(r.services.projection.get().taskById.get('T')?.assignmentId, claimA.id, 'the first claim must stay the winner everywhere')
  })

  it('waits for a live peer that has not announced yet instead of claiming on an unknown view', async () => {
    b.peers = [{ nodeId: 'node-a', heads: [] }]
    const started = Date.now()
    const outcome = await settled(b.services.assignments.claim({ taskId: 'T', agentId: 'agent-b' }))
    assert.ok(outcome.err instanceof NotCaughtUpError, `expected 503 (not caught up), got ${String(outcome.err ?? 'a claim')}`)
    assert.ok(Date.now() - started >= 1500, 'refused without waiting for the announcement')
    assert.equal(b.services.projection.get().claimsByTask.get('T'), undefined, 'a claim was written')
  })

  it('a node claims nothing during its join grace, then claims normally', async () => {
    const store = await DocStore.open({ storage: new MemoryChunkStore(), logger: silentLogger(), actor: 'cc'.repeat(16) })
    const services = createServices({ store, nodeId: 'node-c', settings: { ...DEFAULT_COORDINATION, joinGraceMs: 300 }, livePeers: () => [] })
    await services.tasks.create({ id: 'U', title: 'after the grace', role: 'dev' })
    await services.agents.register({ id: 'agent-c', role: 'dev' })
    const started = Date.now()
    const claim = await services.assignments.claim({ taskId: 'U', agentId: 'agent-c' })
    assert.equal(claim.state, 'pending')
    assert.ok(Date.now() - started >= 200, 'the claim did not wait for the join grace')
    await store.close()
  })
})
