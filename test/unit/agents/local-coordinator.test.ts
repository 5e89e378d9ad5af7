import assert from 'node:assert/strict'
import { DocStore } from '../../../crdt/doc-store.js'
import { FencedError } from '../../../crdt/errors.js'
import { LocalCoordinator } from '../../../node/agents/local-coordinator.js'
import { DEFAULT_COORDINATION } from '../../../node/coord/settings.js'
import { silentLogger } from '../../../node/logger.js'
import { createServices, type Services } from '../../../node/services/index.js'
import { MemoryChunkStore } from '../../../crdt/storage/memory-chunk-store.js'

/** The in-process coordinator decides on domain errors (by class), not on HTTP statuses. */
describe('agents/local-coordinator: domain errors', () => {
  let storage: MemoryChunkStore
  let store: DocStore
  let services: Services
  let coordinator: LocalCoordinator
  const dev = { id: 'agent-a', name: 'A', role: 'dev', capabilities: [] }
  const task = { id: 'T', title: 'a task', description: '', acceptance: null, role: 'dev', attempt: 0, reason: null }

  beforeEach(async () => {
    storage = new MemoryChunkStore()
    store = await DocStore.open({ storage, logger: silentLogger(), actor: 'aa'.repeat(16) })
    services = createServices({ store, nodeId: 'node-a', settings: { ...DEFAULT_COORDINATION, joinGraceMs: 0 }, livePeers: () => [] })
    coordinator = new LocalCoordinator({ store, services, nodeId: 'node-a' })
    await services.tasks.create({ id: 'T', title: 'a task', role: 'dev' })
    await coordinator.register(dev)
  })
  afterEach(async () => { await store.close() })

  it('a claim the rules refuse, or of an unknown task, is null (back off), not an error', async () => {
    assert.equal(await coordinator.claim(dev, { ...task, id: 'nope' }), null, 'unknown task')
    const first = await coordinator.claim(dev, task)
    assert.ok(first !== null)
    assert.equal(await coordinator.claim(dev, task), null, 'the agent already holds the task')
    await coordinator.register({ ...dev, id: 'agent-b' })
    assert.equal(await coordinator.claim({ ...dev, id: 'agent-b' }, task), null, 'the task is taken')
  })

  it('a storage failure during a claim is thrown (a transient failure the worker retries), not taken for a refusal', async () => {
    storage.failWith = Object.assign(new Error('No space left on device'), { code: 'ENOSPC' })
    await assert.rejects(coordinator.claim(dev, task), (err: unknown) => (err as { code?: string }).code === 'STORAGE_UNAVAILABLE')
  })

  it('writes for an assignment that is not live throw the one FencedError; a release keeps its reason', async () => {
    const c = await coordinator.claim(dev, task)
    assert.ok(c !== null)
    await assert.rejects(coordinator.complete(c.assignmentId, 'done'), (err: unknown) => err instanceof FencedError && err.state === 'pending')
    await coordinator.release(c.assignmentId, 'agent shutting down')
    assert.equal(services.assignments.get(c.assignmentId).reason, 'released by agent agent-a: agent shutting down')
    await assert.rejects(coordinator.fail(c.assignmentId, 'boom'), (err: unknown) => err instanceof FencedError && err.state === 'released')
  })
})
