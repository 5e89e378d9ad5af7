import assert from 'node:assert/strict'
import { availableTasks, urgency, downstreamHours, forecastOf, mulberry32, simulate, type SimAgent, type SimTask } from '../../../plan/index.js'

let order = 0
function t (id: string, hours: number, dependsOn: string[] = [], extra: Partial<SimTask> = {}): SimTask {
  return { id, estimatedHours: hours, dependsOn, order: order++, status: 'pending', priority: 0, role: 'dev', ...extra }
}
const devs = (n: number): SimAgent[] => Array.from({ length: n }, (_, i) => ({ id: `a${i}`, role: 'dev' }))
const HOUR = 3_600_000

/**
 * Plan order lists two independent 2 h tasks before a 4 h chain of 1 h steps. Two agents: taken in
 * plan order, the chain starts only at 2 h and ends at 6 h; the lower bound is 4 h (the chain, and
 * 8 h over 2 agents), which critical-path order reaches.
 */
function trap (): SimTask[] {
  return [t('X', 2), t('Y', 2), t('A', 1), t('B', 1, ['A']), t('C', 1, ['B']), t('D', 1, ['C'])]
}

describe('plan/simulate (list scheduling)', () => {
  beforeEach(() => { order = 0 })

  it('plan order is provably worse on the trap plan: 6 h against the 4 h that fleet\'s order reaches', () => {
    const plain = simulate({ tasks: trap(), agents: devs(2), ordering: 'plan' })
    const fleet = simulate({ tasks: trap(), agents: devs(2), ordering: 'fleet' })
    assert.equal(plain.makespan, 6)
    assert.deepEqual(plain.started, ['X', 'Y', 'A', 'B', 'C', 'D'])
    assert.equal(fleet.makespan, 4)
    assert.equal(fleet.started[0], 'A', 'the long chain starts first')
  })

  it('the available order puts the longer downstream chain first within a priority, priority first', () => {
    order = 0
    const tasks = trap()
    const scores = downstreamHours(tasks)
    const sched = tasks.map(x => ({ ...x, status: 'pending' as const, downstreamHours: scores.get(x.id) ?? 0 }))
    assert.deepEqual(availableTasks(sched).map(x => x.id), ['A', 'X', 'Y'])
    const urgentY = sched.map(x => (x.id === 'Y' ? { ...x, priority: 1 } : x))
    assert.deepEqual(availableTasks(urgentY).map(x => x.id), ['Y', 'A', 'X'])
    assert.ok(urgency(sched[0] as never, sched[1] as never) < 0, 'equal chains: plan order')
  })

  it('one agent per role: roles run in parallel, a role without an agent leaves its tasks (and their dependents) unscheduled', () => {
    const tasks = [t('F1', 3, [], { role: 'frontend' }), t('B1', 5, [], { role: 'backend' }), t('O1', 2, [], { role: 'ops' }), t('B2', 1, ['O1'], { role: 'backend' }), t('N', 1, [], { role: null })]
    const r = simulate({ tasks, agents: [{ id: 'f', role: 'frontend' }, { id: 'b', role: 'backend' }] })
    assert.deepEqual(r.unschedulable, ['O1', 'B2'])
    // N (no role) goes to whoever is free first: f at 3 h, so the end is max(5, 3 + 1).
    assert.equal(r.makespan, 5)
  })

  it('work in progress keeps its agent and only its remaining part; done and review work releases dependents at once', () => {
    const tasks = [
      t('A', 8, [], { status: 'done' }),
      t('B', 4, ['A'], { status: 'in_progress', progress: 50, assignee: 'a1' }),
      t('R', 6, ['A'], { status: 'review' }),
      t('C', 3, ['R']),
      t('D', 1, ['B'])
    ]
    const r = simulate({ tasks, agents: devs(2) })
    // a1 finishes B at 2 h then takes D (ends 3 h); a0 takes C at once (ends 3 h).
    assert.equal(r.makespan, 3)
    assert.deepEqual(r.started, ['B', 'C', 'D'])
  })

  it('a cancelled dependency never finishes, as in fleet (its dependents are blocked)', () => {
    const r = simulate({ tasks: [t('A', 1, [], { status: 'cancelled' }), t('B', 1, ['A']), t('C', 2)], agents: devs(1) })
    assert.deepEqual(r.unschedulable, ['B'])
    assert.equal(r.makespan, 2)
  })

  it('sampled durations are reproducible from the seed', () => {
    const run = (seed: number): number => {
      const random = mulberry32(seed)
      return simulate({ tasks: trap(), agents: devs(2), duration: (_x, h) => h * (0.5 + random()) }).makespan
    }
    order = 0
    assert.equal(run(7), run(7))
    assert.notEqual(run(7), run(8))
  })
})

describe('plan/forecast', () => {
  beforeEach(() => { order = 0 })

  it('projects the simulated makespan scaled by the observed ratio, from now', () => {
    const f = forecastOf({ tasks: trap(), agents: devs(2), estimateRatio: 0.5, ratios: [], now: 1_000, random: mulberry32(1) })
    assert.equal(f.remainingHours, 8)
    assert.equal(f.criticalPathHours, 4)
    assert.deepEqual(f.criticalPath, ['A', 'B', 'C', 'D'])
    assert.equal(f.lowerBoundHours, 4)
    assert.equal(f.makespanHours, 4)
    assert.equal(f.projectedFinishAt, 1_000 + 4 * 0.5 * HOUR)
    assert.equal(f.p50FinishAt, f.projectedFinishAt, 'no observed errors: no spread')
    assert.deepEqual(f.agentsPerRole, { dev: 2 })
    assert.deepEqual(f.blockers, [])
  })

  it('p50 and p90 come from durations drawn from the observed errors', () => {
    const same = forecastOf({ tasks: trap(), agents: devs(2), estimateRatio: 2, ratios: [2, 2, 2], now: 0, random: mulberry32(1), runs: 20 })
    assert.equal(same.p50FinishAt, 8 * HOUR)
    assert.equal(same.p90FinishAt, 8 * HOUR)
    const spread = forecastOf({ tasks: trap(), agents: devs(2), estimateRatio: 1, ratios: [0.5, 1, 3], now: 0, random: mulberry32(3), runs: 50 })
    assert.ok((spread.p50FinishAt as number) <= (spread.p90FinishAt as number))
    assert.ok((spread.p90FinishAt as number) > 4 * HOUR && (spread.p90FinishAt as number) <= 12 * HOUR, `p90 ${(spread.p90FinishAt as number) / HOUR} h`)
  })

  it('names roles with work and no agent as blockers, and projects no finish', () => {
    const f = forecastOf({ tasks: [t('A', 3), t('O', 2, [], { role: 'ops' }), t('P', 1, [], { role: 'ops' })], agents: devs(1), estimateRatio: null, ratios: [], now: 0, random: mulberry32(1) })
    assert.deepEqual(f.blockers, [{ role: 'ops', tasks: 2, hours: 3 }])
    assert.equal(f.projectedFinishAt, null)
    assert.equal(f.p90FinishAt, null)
    assert.equal(f.lowerBoundHours, 3)
  })
})
