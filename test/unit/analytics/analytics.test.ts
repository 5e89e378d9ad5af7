import assert from 'node:assert/strict'
import { DocStore } from '../../../crdt/doc-store.js'
import { putIn } from '../../../crdt/collections.js'
import { str } from '../../../crdt/schema.js'
import { writeTaskState } from '../../../crdt/task-records.js'
import { silentLogger } from '../../../node/logger.js'
import { DEFAULT_COORDINATION } from '../../../node/coord/settings.js'
import { createServices, type Services } from '../../../node/services/index.js'
import { parsePlan } from '../../../plan/index.js'
import { MemoryChunkStore } from '../../../crdt/storage/memory-chunk-store.js'

const MIN = 60_000
const HOUR = 60 * MIN
const NODE = 'node-1'

const PLAN = `# Plan: scripted
id: scripted

## Epic E1: Backend (role: backend)

- [T1] Schema (2h)
- [T2] Endpoints (4h, depends: T1)

## Epic E2: Frontend (role: frontend)

- [T3] Page (1h)
`

interface Raw { id: string, taskId: string, agentId: string, attempt: number, claimedAt: number, confirmedAt: number | null, state: string, endedAt: number | null, reason?: string, progress?: number }

async function open (): Promise<{ store: DocStore, services: Services }> {
  const store = await DocStore.open({ storage: new MemoryChunkStore(), logger: silentLogger() })
  const services = createServices({ store, nodeId: NODE, settings: DEFAULT_COORDINATION, livePeers: () => [] })
  return { store, services }
}

async function assignment (store: DocStore, a: Raw): Promise<void> {
  await store.change((d) => {
    putIn(d.assignments, a.id, {
      id: str(a.id), taskId: str(a.taskId), agentId: str(a.agentId), nodeId: str(NODE), attempt: a.attempt, clock: 1,
      claimedAt: a.claimedAt, confirmedAt: a.confirmedAt, state: str(a.state), progress: a.progress ?? (a.state === 'completed' ? 100 : 0),
      message: null, summary: null, endedAt: a.endedAt, reason: a.reason === undefined ? null : str(a.reason)
    })
  }, `assignment ${a.id}`)
}

async function merge (store: DocStore, id: string, taskId: string, assignmentId: string, agentId: string, state: 'merged' | 'ejected', at: number, reason: string | null = null): Promise<void> {
  await store.change((d) => {
    d.mergeQueue[id] = {
      id: str(id), taskId: str(taskId), assignmentId: str(assignmentId), agentId: str(agentId), branch: str(`fleet/${taskId}`), commit: null,
      priority: 0, enqueuedAt: at - MIN, state: str(state), sha: null, reason: reason === null ? null : str(reason), output: null, leader: null, updatedAt: at
    }
  }, `merge ${id}`)
}

describe('analytics from a scripted history (in process)', () => {
  let store: DocStore
  let services: Services
  // Tomorrow 00:00 UTC: after the tasks' creation, on an hour boundary, so every figure is known.
  const base = Math.ceil(Date.now() / (24 * HOUR)) * 24 * HOUR

  before(async () => {
    ({ store, services } = await open())
    await services.plans.import(parsePlan(PLAN, { format: 'markdown' }))
    await services.agents.register({ id: 'A', role: 'backend' })
    await services.agents.register({ id: 'B', role: 'frontend' })
    // T1 by A: claimed at 0, confirmed at 1 min, worked 3 h (estimate 2 h), merged at 4 h.
    await assignment(store, { id: 'a1', taskId: 'T1', agentId: 'A', attempt: 0, claimedAt: base, confirmedAt: base + MIN, state: 'completed', endedAt: base + MIN + 3 * HOUR })
    await merge(store, 'm1', 'T1', 'a1', 'A', 'merged', base + 4 * HOUR)
    // T3 by B: attempt 0 fails after 30 min; attempt 1 works 1 h and is ejected; attempt 2 works 30 min and is merged.
    await assignment(store, { id: 'b0', taskId: 'T3', agentId: 'B', attempt: 0, claimedAt: base, confirmedAt: base, state: 'failed', endedAt: base + 30 * MIN, reason: 'tests failed' })
    await assignment(store, { id: 'b1', taskId: 'T3', agentId: 'B', attempt: 1, claimedAt: base + HOUR, confirmedAt: base + HOUR, state: 'completed', endedAt: base + 2 * HOUR })
    await merge(store, 'm2', 'T3', 'b1', 'B', 'ejected', base + 2 * HOUR + 5 * MIN, 'merge conflict in page.ts')
    await assignment(store, { id: 'b2', taskId: 'T3', agentId: 'B', attempt: 2, claimedAt: base + 3 * HOUR, confirmedAt: base + 3 * HOUR, state: 'completed', endedAt: base + 3 * HOUR + 30 * MIN })
    await merge(store, 'm3', 'T3', 'b2', 'B', 'merged', base + 3 * HOUR + 40 * MIN)
    // T2 by A: in progress, half done.
    await assignment(store, { id: 'a2', taskId: 'T2', agentId: 'A', attempt: 0, claimedAt: base + 5 * HOUR, confirmedAt: base + 5 * HOUR, state: 'active', endedAt: null, progress: 50 })
    await store.change((d) => {
      writeTaskState(d, 'T1', { status: 'done' })
      writeTaskState(d, 'T3', { status: 'done', attempt: 2, failures: 1 })
    }, 'statuses')
  })
  after(async () => { await store.close() })

  it('per agent: tasks, attempts, failures, hours, busy time, cycle times, estimate ratio', () => {
    const [a, b] = services.analytics.agents()
    assert.deepEqual(a, {
      agentId: 'A', role: 'backend', node: NODE, tasksDone: 1, attempts: 2, failures: 0, failureRate: 0, hoursDone: 2,
      busyMs: 3 * HOUR, cycleTimeMs: { p50: 4 * HOUR, p90: 4 * HOUR }, estimateRatio: 1.5, lastDoneAt: base + 4 * HOUR
    })
    assert.deepEqual(b, {
      agentId: 'B', role: 'frontend', node: NODE, tasksDone: 1, attempts: 3, failures: 1, failureRate: 1 / 3, hoursDone: 1,
      busyMs: 2 * HOUR, cycleTimeMs: { p50: 40 * MIN, p90: 40 * MIN }, estimateRatio: 0.5, lastDoneAt: base + 3 * HOUR + 40 * MIN
    })
  })

  it('per role, and failures and ejections with their reasons, newest first', () => {
    assert.deepEqual(services.analytics.roles().map(r => [r.role, r.agents, r.tasksDone, r.hoursDone, r.failures]), [['backend', 1, 1, 2, 0], ['frontend', 1, 1, 1, 1]])
    assert.deepEqual(services.analytics.incidents(10).map(i => [i.kind, i.taskId, i.agentId, i.reason, i.at - base]), [
      ['ejected', 'T3', 'B', 'merge conflict in page.ts', 2 * HOUR + 5 * MIN],
      ['failed', 'T3', 'B', 'tests failed', 30 * MIN]
    ])
    assert.deepEqual(services.analytics.slowest(1).map(d => [d.taskId, d.ratio]), [['T1', 1.5]])
  })

  it('throughput per hour (gaps filled) and per day', () => {
    assert.deepEqual(services.analytics.throughput('hour').map(b => [(b.start - base) / HOUR, b.tasks, b.hours, b.ejections, b.failures]), [
      [0, 0, 0, 0, 1], [1, 0, 0, 0, 0], [2, 0, 0, 1, 0], [3, 1, 1, 0, 0], [4, 1, 2, 0, 0]
    ])
    assert.deepEqual(services.analytics.throughput('day').map(b => [b.start - base, b.tasks, b.hours, b.ejections, b.failures]), [[0, 2, 3, 1, 1]])
  })

  it('burn-down from the total down by each done task, and a forecast scaled by the observed ratio', () => {
    // Agents count as live by their heartbeats, so the forecast is asked at the real time.
    const now = Date.now()
    const bd = services.analytics.burndown(now)
    assert.deepEqual(bd.points.map(p => p.remainingHours), [7, 6, 4])
    assert.deepEqual(bd.points.slice(1).map(p => p.at - base), [3 * HOUR + 40 * MIN, 4 * HOUR])
    const f = services.analytics.forecast(now)
    assert.equal(f.remainingHours, 2, 'T2 is half done')
    assert.deepEqual(f.criticalPath, ['T2'])
    assert.deepEqual(f.agentsPerRole, { backend: 1, frontend: 1 })
    // 3.5 h of work for 3 estimated hours so far; A still has 2 estimated hours on T2.
    assert.ok(Math.abs((f.projectedFinishAt as number) - (now + 2 * (3.5 / 3) * HOUR)) < 1, `projected ${f.projectedFinishAt}`)
    assert.deepEqual(bd.forecast.projected, { at: f.projectedFinishAt, remainingHours: 0 })
  })
})

describe('critical-path order through the task service (in process)', () => {
  it('offers the long chain first, and recomputes chains when a task\'s spec changes, not on a claim', async () => {
    const { store, services } = await open()
    try {
      await services.plans.import(parsePlan(`# Plan: trap
id: trap

## Epic E1: Work (role: dev)

- [S1] Independent (2h)
- [S2] Independent too (2h)
- [A] Chain start (1h)
- [B] Chain (1h, depends: A)
- [C] Chain (1h, depends: B)
- [D] Chain end (1h, depends: C)
`, { format: 'markdown' }))
      assert.deepEqual(services.tasks.available('dev').map(t => [t.id, t.downstreamHours]), [['A', 4], ['S1', 2], ['S2', 2]])
      // The projection counts the steps it spends on chains: none for a claim, some for a spec edit.
      const chainWork = (): number => services.projection.stats.chainWork
      const first = chainWork()
      await services.agents.register({ id: 'dev-1', role: 'dev' })
      await services.assignments.claim({ taskId: 'A', agentId: 'dev-1' })
      assert.deepEqual(services.tasks.available('dev').map(t => t.id), ['S1', 'S2'])
      assert.equal(chainWork(), first, 'a claim does not recompute the chains')
      await services.tasks.update('S2', { estimatedHours: 6 })
      assert.deepEqual(services.tasks.available('dev').map(t => [t.id, t.downstreamHours]), [['S2', 6], ['S1', 2]])
      assert.ok(chainWork() > first, 'an edit of a spec does')
    } finally {
      await store.close()
    }
  })
})
