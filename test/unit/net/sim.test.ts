import assert from 'node:assert/strict'
import { runSim } from '../../../scripts/lib/sim.js'

/** npm run sim at a small N: the scenario runs end to end and its figures make sense. */
describe('simulator (scripts/lib/sim.ts), 6 nodes', function () {
  this.timeout(120_000)
  it('spreads a write, settles claim races with one confirmation each, sees a crashed leader dead and replaced within the liveness window, and converges after a partition heals', async () => {
    const livenessMs = 1500
    const r = await runSim({ nodes: 6, degree: 3, idleMs: 1000, livenessMs, loss: 0.05, seed: 42, claimRounds: 4, racers: 3 })
    assert.equal(r.nodes, 6)
    assert.ok(r.idleMsgsPerNodePerS > 0, 'idle nodes still exchange keepalives')
    assert.ok(r.loadMsgsPerNodePerS > 0, 'messages flow under load')
    // The crash is noticed after the last keepalive ages out: at least most of a window, at most about two.
    assert.ok(r.deadDetectedMs >= livenessMs / 2 && r.deadDetectedMs <= livenessMs * 2.5, `dead seen after ${r.deadDetectedMs} ms`)
    assert.ok(r.leaderReplacedMs <= livenessMs * 2.5, `leader replaced after ${r.leaderReplacedMs} ms`)
    assert.ok(Number.isFinite(r.writeSpreadMs) && Number.isFinite(r.healConvergedMs))
    // Claim races through the real services and settler: one confirmed per task, never two.
    assert.equal(r.claims.doubleConfirmed, 0, 'a task attempt confirmed to two agents')
    assert.equal(r.claims.confirmed, r.claims.races, `one confirmed claim per race (${JSON.stringify(r.claims)})`)
    assert.ok(r.claims.races >= 2, `claims were accepted in only ${r.claims.races} of 4 rounds`)
  })
})
