import assert from 'node:assert/strict'
import { join } from 'node:path'
import { DocStore } from '../../../crdt/doc-store.js'
import { putIn } from '../../../crdt/collections.js'
import { str, type DocMergeEntry, type FleetDoc } from '../../../crdt/schema.js'
import { LevelChunkStore } from '../../../crdt/storage/level-chunk-store.js'
import { newTaskSpec } from '../../../crdt/mutations/tasks.js'
import { writeTaskSpec, writeTaskState } from '../../../crdt/task-records.js'
import { AlertInputs, type AlertInputsInit } from '../../../node/alerts/inputs.js'
import { silentLogger } from '../../../node/logger.js'
import { removeDir, tempDir } from '../../../scripts/lib/node-process.js'

function entry (id: string, taskId: string, state: string, enqueuedAt: number, updatedAt = enqueuedAt): DocMergeEntry {
  return { id: str(id), taskId: str(taskId), assignmentId: str(`a-${id}`), agentId: str('A'), branch: str(`fleet/${taskId}`), commit: null, priority: 0, enqueuedAt, state: str(state), sha: null, reason: state === 'ejected' ? str('merge conflict') : null, output: state === 'ejected' ? str('CONFLICT a.txt') : null, leader: null, updatedAt }
}

describe('alert inputs follow the document incrementally', function () {
  this.timeout(20_000)
  let dir: string
  let store: DocStore
  const init = (over: Partial<AlertInputsInit> = {}): AlertInputs => new AlertInputs({
    store, watchSince: 0, merger: true, peers: () => [], livePeers: () => [], lastBeat: () => null,
    heartbeatStaleMs: 60_000, heartbeatDeadMs: 120_000, livenessMs: 10_000, planStalledMs: 600_000,
    workCheck: () => ({ busyAgents: new Set(), rolesWithWork: new Set() }),
    ...over
  })

  beforeEach(async () => {
    dir = tempDir('fleet-alert-inputs-')
    store = await DocStore.open({ storage: new LevelChunkStore({ path: join(dir, 'db') }), logger: silentLogger() })
  })
  afterEach(async () => {
    await store.close()
    removeDir(dir)
  })

  it('failed tasks, ejected merges, the waiting queue and the last claim match a full rebuild after each change', async () => {
    const inputs = init()
    inputs.view(1)
    store.on('change', (e) => { inputs.notePatches(e.patches) })
    const change = async (f: (d: FleetDoc) => void): Promise<void> => { await store.change(f) }
    const same = (now: number): ReturnType<AlertInputs['view']> => {
      const v = inputs.view(now)
      const fresh = init().view(now)
      assert.deepEqual({ ...v, peers: [] }, { ...fresh, peers: [] }, 'the incremental view equals a rebuild from the whole document')
      return v
    }

    await change((d) => {
      for (const id of ['T1', 'T2', 'T3']) writeTaskSpec(d, id, newTaskSpec({ title: id, epic: 'E1', description: '', estimatedHours: 1, role: null, dependsOn: [], priority: 0, acceptance: null, order: 0 }, 'api', 0))
    })
    assert.deepEqual(same(10).failedTasks, [])

    await change((d) => { writeTaskState(d, 'T1', { status: 'failed', reason: 'lease expired 3 times' }) })
    assert.deepEqual(same(20).failedTasks, [{ id: 'T1', epic: 'E1', title: 'T1', reason: 'lease expired 3 times' }])

    await change((d) => { d.mergeQueue.m1 = entry('m1', 'T2', 'queued', 100) })
    assert.deepEqual(same(150).queue, { waiting: 1, waitingSince: 100, lastProgressAt: null, leaderCandidates: 1, noCandidatesSince: null })

    await change((d) => { d.mergeQueue.m1 = entry('m1', 'T2', 'ejected', 100, 200); writeTaskState(d, 'T2', { status: 'pending', attempt: 1 }) })
    let v = same(250)
    assert.deepEqual(v.ejected, [{ taskId: 'T2', branch: 'fleet/T2', reason: 'merge conflict', output: 'CONFLICT a.txt' }])
    assert.deepEqual([v.queue.waiting, v.queue.lastProgressAt], [0, 200])

    // A newer entry of the task clears the ejection; a retried task is no longer failed.
    await change((d) => { d.mergeQueue.m2 = entry('m2', 'T2', 'queued', 300); writeTaskState(d, 'T1', { status: 'pending', reason: null }) })
    v = same(350)
    assert.deepEqual([v.ejected, v.failedTasks, v.queue.waiting], [[], [], 1])

    await change((d) => { putIn(d.assignments, 'as1', { id: str('as1'), taskId: str('T3'), agentId: str('A'), nodeId: str('n'), attempt: 0, clock: 1, claimedAt: 400, confirmedAt: null, state: str('active'), progress: 0, message: null, summary: null, endedAt: null, reason: null }) })
    assert.equal(same(450).plan.lastClaimAt, 400)
  })

  it('a peer becomes a member (alerted on) only after it was heard over 3 liveness windows, and stays one', () => {
    const peer = { nodeId: 'p1', heads: [], headsAt: null, lastSeenAt: null as number | null, status: null, incarnation: 0, statusSince: 0, http: null, addrs: [], beats: [], merger: false, nbrs: [], connected: false, missingSince: null, checkedHeads: null }
    let live = true
    const inputs = init({ livenessMs: 1000, peers: () => [peer], livePeers: () => (live ? [peer] : []) })
    peer.lastSeenAt = 1000
    assert.deepEqual(inputs.view(1000).peers, [], 'just appeared')
    peer.lastSeenAt = 3500
    assert.deepEqual(inputs.view(3500).peers, [], 'heard for 2.5 s')
    peer.lastSeenAt = 4000
    assert.deepEqual(inputs.view(4000).peers.map(p => [p.id, p.live]), [['p1', true]])
    live = false
    assert.deepEqual(inputs.view(20_000).peers.map(p => [p.id, p.live]), [['p1', false]], 'a member that went quiet is still known, as down')
  })

  it('counts idle agents for available work only once nothing was claimed for the stall window, and at most once a minute', async () => {
    let checks = 0
    const inputs = init({ planStalledMs: 1000, stallCheckMs: 60_000, lastBeat: () => 5000, workCheck: () => { checks++; return { busyAgents: new Set(), rolesWithWork: new Set(['backend']) } } })
    await store.change((d) => { d.agents.A = { id: str('A'), name: str('A'), role: str('backend'), capabilities: [], nodeId: str('n'), registeredAt: 0 } })
    assert.equal(inputs.view(500).plan.idleAgentsWithWork, 0)
    assert.equal(checks, 0, 'no whole-plan check before the window passed')
    assert.equal(inputs.view(6000).plan.idleAgentsWithWork, 1)
    for (let t = 6000; t < 60_000; t += 1000) inputs.view(t)
    assert.equal(checks, 1)
  })
})
