import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { DocStore } from '../../../crdt/doc-store.js'
import { judgesLease } from '../../../crdt/rules/leases.js'
import { MemoryChunkStore } from '../../../crdt/storage/memory-chunk-store.js'
import { LeaseMonitor } from '../../../node/coord/leases.js'
import { DEFAULT_COORDINATION, type CoordinationSettings } from '../../../node/coord/settings.js'
import { silentLogger } from '../../../node/logger.js'
import { createServices, type Services } from '../../../node/services/index.js'
import { waitFor } from '../../../scripts/lib/wait.js'

const LEASE_MS = 3000
const settings: CoordinationSettings = { ...DEFAULT_COORDINATION, leaseMs: LEASE_MS, livenessMs: 1000, joinGraceMs: 0 }

interface Replica { store: DocStore, services: Services }

async function replica (nodeId: string): Promise<Replica> {
  const store = await DocStore.open({ storage: new MemoryChunkStore(), logger: silentLogger() })
  return { store, services: createServices({ store, nodeId, settings, livePeers: () => [] }) }
}

/** A confirmed claim of task T by `agent`, made through this replica. */
async function confirmedClaim (r: Replica): Promise<{ id: string }> {
  await r.services.tasks.create({ id: 'T', title: 'work', role: 'dev' })
  await r.services.agents.register({ id: 'agent', role: 'dev' })
  const claim = await r.services.assignments.claim({ taskId: 'T', agentId: 'agent' })
  await r.services.assignments.confirm(claim.id)
  return claim
}

/**
 * Who expires a lease on missed heartbeats (judgesLease): the claim's own node while it is live,
 * everyone once it is not. Replicas wired by hand; time passed to tick().
 */
describe('lease expiry: judged by the claim\'s node while it is live', () => {
  it('judgesLease: own claims always, another node\'s only once that node is not live', () => {
    assert.equal(judgesLease('a', 'a', true), true)
    assert.equal(judgesLease('a', 'b', true), false)
    assert.equal(judgesLease('a', 'b', false), true)
  })

  it('a node that hears a live node\'s heartbeats late leaves its leases alone; once that node is dead it expires them', async () => {
    const home = await replica('node-home')
    const far = await replica('node-far')
    try {
      const claim = await confirmedClaim(home)
      far.store.applyRemote(A.getChanges(far.store.doc, home.store.doc))
      // far has not heard a heartbeat of the agent since the claim (they are late, or lost).
      let homeLive = true
      let expiries = 0
      const monitor = new LeaseMonitor({ selfId: 'node-far', isLive: (id) => id === 'node-home' && homeLive, projection: far.services.projection, agents: far.services.agents, assignments: far.services.assignments, settings, logger: silentLogger(), startedAt: 0, counters: { leaseExpired: () => { expiries++ } } })
      const state = (): string | undefined => far.services.projection.get().assignments.get(claim.id)?.state
      monitor.tick(Date.now() + 10 * LEASE_MS)
      assert.equal(expiries, 0, 'far must not expire a live node\'s lease on heartbeats it did not hear')
      assert.equal(state(), 'confirmed')
      homeLive = false
      monitor.tick(Date.now() + 10 * LEASE_MS)
      assert.equal(expiries, 1, 'once the node is not live, far judges its lease')
      await waitFor(() => state() === 'expired', 'the assignment to be expired on far')
    } finally {
      await home.store.close()
      await far.store.close()
    }
  })

  it('the claim\'s own node expires the lease of its silent agent', async () => {
    const home = await replica('node-home')
    try {
      const claim = await confirmedClaim(home)
      const monitor = new LeaseMonitor({ selfId: 'node-home', isLive: () => true, projection: home.services.projection, agents: home.services.agents, assignments: home.services.assignments, settings, logger: silentLogger(), startedAt: 0 })
      const state = (): string | undefined => home.services.projection.get().assignments.get(claim.id)?.state
      monitor.tick(Date.now() + LEASE_MS / 2)
      assert.equal(state(), 'confirmed', 'within its lease')
      monitor.tick(Date.now() + 10 * LEASE_MS)
      await waitFor(() => state() === 'expired', 'the assignment to be expired on its own node')
    } finally {
      await home.store.close()
    }
  })
})
