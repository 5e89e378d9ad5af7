import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { DocStore } from '../../../crdt/doc-store.js'
import { MemoryChunkStore } from '../../../crdt/storage/memory-chunk-store.js'
import { ClaimSettler } from '../../../node/coord/settler.js'
import { DEFAULT_COORDINATION } from '../../../node/coord/settings.js'
import { silentLogger } from '../../../node/logger.js'
import { createServices, type Services } from '../../../node/services/index.js'

/**
 * The claim settler on one in-process replica whose peers are a table the test writes (what the
 * membership layer would hold): which acknowledgements confirm a claim, and what an evaluation
 * costs when many peers have not acknowledged yet.
 */
const PEERS = 30

interface Claimant { store: DocStore, services: Services, settler: ClaimSettler, peers: Array<{ nodeId: string, heads: string[] }>, ancestryQueries: () => number }

async function claimant (): Promise<Claimant> {
  const store = await DocStore.open({ storage: new MemoryChunkStore(), logger: silentLogger(), actor: 'aa'.repeat(16) })
  const c = { store, peers: [] as Array<{ nodeId: string, heads: string[] }> } as Claimant
  c.services = createServices({ store, nodeId: 'claimant', settings: { ...DEFAULT_COORDINATION, joinGraceMs: 0 }, livePeers: () => c.peers })
  c.settler = new ClaimSettler({ store, projection: c.services.projection, assignments: c.services.assignments, logger: silentLogger(), livePeers: () => c.peers })
  // Every "does this peer's history include the claim" question is one changesSince call.
  let queries = 0
  const changesSince = store.changesSince.bind(store)
  store.changesSince = (heads) => { queries++; return changesSince(heads) }
  c.ancestryQueries = () => queries
  return c
}

/** Lets the settler's scheduled evaluation (setImmediate) run. */
async function evaluated (c: Claimant): Promise<void> {
  c.settler.schedule()
  await new Promise(resolve => setImmediate(resolve))
}

async function stateOf (c: Claimant, id: string): Promise<string> {
  // The confirmation is a write; give it its turn.
  await new Promise(resolve => setImmediate(resolve))
  return c.services.assignments.get(id).state
}

describe('claim settler', () => {
  let c: Claimant
  beforeEach(async () => {
    c = await claimant()
    await c.services.tasks.create({ id: 'T', title: 'contested', role: 'dev' })
    await c.services.agents.register({ id: 'agent', role: 'dev' })
  })
  afterEach(async () => { await c.store.close() })

  it('asks about a peer\'s history once per heads it announced, not once per acknowledgement, and confirms when all acknowledged', async () => {
    const before = c.store.heads()
    c.peers = Array.from({ length: PEERS }, (_, i) => ({ nodeId: `peer-${i}`, heads: before }))
    const claim = await c.services.assignments.claim({ taskId: 'T', agentId: 'agent' })
    c.settler.start()
    const after = c.store.heads()
    const q0 = c.ancestryQueries()
    // Acks arrive one by one, each followed by an evaluation (what the membership layer triggers).
    for (let i = 0; i < PEERS; i++) {
      await evaluated(c)
      assert.equal(await stateOf(c, claim.id), 'pending', `confirmed with ${i} of ${PEERS} peers acknowledging`)
      const peer = c.peers[i]
      if (peer !== undefined) peer.heads = after
    }
    await evaluated(c)
    assert.equal(await stateOf(c, claim.id), 'confirmed', 'every live peer acknowledged the claim')
    // The peers still on old heads were judged once: an O(peers) query per ack would be ~PEERS^2 / 2.
    const queries = c.ancestryQueries() - q0
    assert.ok(queries <= PEERS, `${queries} ancestry queries for ${PEERS} peers and ${PEERS} acknowledgements`)
  })

  it('re-judges a peer whose heads we could not place once we hold its changes', async () => {
    c.peers = [{ nodeId: 'peer-0', heads: c.store.heads() }]
    const claim = await c.services.assignments.claim({ taskId: 'T', agentId: 'agent' })
    c.settler.start()
    // The peer took our claim and wrote a change of its own on top; we have not received that yet.
    let peerDoc = A.merge(A.init<never>({ actor: 'bb'.repeat(16) }), A.clone(c.store.doc) as never)
    peerDoc = A.change(peerDoc, (d: Record<string, unknown>) => { d.note = 'peer write' })
    const peerChange = A.getLastLocalChange(peerDoc)
    assert.ok(peerChange !== undefined)
    const peer = c.peers[0]
    if (peer !== undefined) peer.heads = A.getHeads(peerDoc)
    await evaluated(c)
    assert.equal(await stateOf(c, claim.id), 'pending', 'confirmed on heads whose history we do not hold')
    // Same heads, now held: the peer's ack is recognised.
    c.store.applyRemote([peerChange])
    await evaluated(c)
    assert.equal(await stateOf(c, claim.id), 'confirmed')
  })
})
