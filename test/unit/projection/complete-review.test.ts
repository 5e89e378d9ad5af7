import assert from 'node:assert/strict'
import { DocStore } from '../../../crdt/doc-store.js'
import { MemoryChunkStore } from '../../../crdt/storage/memory-chunk-store.js'
import { DEFAULT_COORDINATION } from '../../../node/coord/settings.js'
import { silentLogger } from '../../../node/logger.js'
import { createServices, type Services } from '../../../node/services/index.js'

/**
 * Completing an assignment whose branch waits in the merge queue puts the task in review; with
 * nothing queued (or only a merged entry) the task is done. complete() asks the merge-queue index
 * instead of scanning the queue inside its change (issue 11).
 */
describe('assignments: complete() and the merge queue', () => {
  let store: DocStore
  let s: Services
  beforeEach(async () => {
    store = await DocStore.open({ storage: new MemoryChunkStore(), logger: silentLogger() })
    s = createServices({ store, nodeId: 'node-1', settings: DEFAULT_COORDINATION, livePeers: () => [] })
    await s.agents.register({ id: 'agent-1', role: 'backend' })
    await s.agents.register({ id: 'agent-2', role: 'backend' })
  })
  afterEach(async () => { await store.close() })

  async function confirmedClaim (taskId: string, agentId: string): Promise<string> {
    await s.tasks.create({ id: taskId, title: `task ${taskId}` })
    const a = await s.assignments.claim({ taskId, agentId })
    await s.assignments.confirm(a.id)
    return a.id
  }

  it('a queued branch: the task is in review; nothing queued: done', async () => {
    const queued = await confirmedClaim('T1', 'agent-1')
    await s.mergeQueue.enqueue({ taskId: 'T1', assignmentId: queued, branch: 'fleet/T1' })
    await s.assignments.complete(queued, { summary: 'done' })
    assert.equal(s.projection.get().taskById.get('T1')?.status, 'review', 'completed with its branch queued: in review')

    const plain = await confirmedClaim('T2', 'agent-2')
    await s.assignments.complete(plain, { summary: 'done' })
    assert.equal(s.projection.get().taskById.get('T2')?.status, 'done', 'nothing queued: done')
  })

  it('an ejected entry does not hold the task in review', async () => {
    const a = await confirmedClaim('T3', 'agent-1')
    const { entry } = await s.mergeQueue.enqueue({ taskId: 'T3', assignmentId: a, branch: 'fleet/T3' })
    await s.mergeQueue.eject(entry.id, 'conflict', '', undefined, { reopen: false })
    await s.assignments.complete(a, { summary: 'done' })
    assert.equal(s.projection.get().taskById.get('T3')?.status, 'done')
  })
})
