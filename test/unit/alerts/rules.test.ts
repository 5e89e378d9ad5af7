import assert from 'node:assert/strict'
import {
  evaluateAlerts, fingerprint, fingerprintOf, planTransitions, DEFAULT_ALERT_THRESHOLDS, OUT_OF_SYNC_SLACK_MS,
  type AlertView, type AlertRecordState, type AlertInstance
} from '../../../crdt/rules/alerts.js'
import { InvalidRuleOptionError } from '../../../crdt/rules/errors.js'
import { headsAnnounceMs } from '../../../crdt/rules/swim.js'

const T0 = 1_700_000_000_000

function view (over: Partial<AlertView> = {}): AlertView {
  return {
    now: T0,
    watchSince: T0 - 3_600_000,
    agents: [],
    failedTasks: [],
    ejected: [],
    queue: { waiting: 0, waitingSince: null, lastProgressAt: null, leaderCandidates: 1, noCandidatesSince: null },
    peers: [],
    plan: { lastClaimAt: T0 - 1000, idleAgentsWithWork: 0 },
    ...over
  }
}

const names = (firing: AlertInstance[]): string[] => firing.map(a => a.alertname).sort()

describe('rules/alerts', () => {
  it('has the documented defaults', () => {
    assert.deepEqual(DEFAULT_ALERT_THRESHOLDS, { agentDeadMs: 120_000, queueStuckMs: 600_000, outOfSyncMs: 60_000, planStalledMs: 600_000 })
  })

  describe('fingerprint', () => {
    it('depends on the labels, not their order, and is 16 hex digits', () => {
      const a = fingerprint({ alertname: 'FleetNodeDown', peer: 'p1', severity: 'critical' })
      assert.equal(a, fingerprint({ severity: 'critical', peer: 'p1', alertname: 'FleetNodeDown' }))
      assert.match(a, /^[0-9a-f]{16}$/)
      assert.notEqual(a, fingerprint({ alertname: 'FleetNodeDown', peer: 'p2', severity: 'critical' }))
      // Name/value boundaries count: {a: "bc"} is not {ab: "c"}.
      assert.notEqual(fingerprint({ a: 'bc' }), fingerprint({ ab: 'c' }))
    })
    it('is FNV-1a 64 with 0xff separators, as Prometheus model.LabelSet.Fingerprint', () => {
      // Reference: FNV-1a 64 in BigInt, straight from the published offset basis and prime.
      const reference = (labels: Record<string, string>): string => {
        let h = 0xcbf29ce484222325n
        for (const name of Object.keys(labels).sort()) {
          for (const b of [...new TextEncoder().encode(name), 0xff, ...new TextEncoder().encode(labels[name] ?? ''), 0xff]) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn
        }
        return h.toString(16).padStart(16, '0')
      }
      const sets: Array<Record<string, string>> = [{ a: 'b' }, {}, { alertname: 'FleetAgentDead', severity: 'warning', agent: 'agent-ü', role: 'backend', node: '12D3KooWRzN2GP' }]
      for (let i = 0; i < 200; i++) sets.push({ alertname: `A${i}`, task: `T${i * 7919}.${i % 13}`, epic: 'x'.repeat(i % 40) })
      for (const l of sets) assert.equal(fingerprint(l), reference(l), JSON.stringify(l))
    })
  })

  describe('FleetAgentDead', () => {
    const agent = { id: 'A', role: 'backend', node: 'n1' }
    it('fires once an agent is silent for agentDeadMs, with agent, role and node labels', () => {
      const alive = evaluateAlerts(view({ agents: [{ ...agent, lastSeenAt: T0 - 119_999 }] }))
      assert.deepEqual(names(alive.firing), [])
      assert.ok(alive.clear.has(fingerprintOf('FleetAgentDead', { agent: 'A', role: 'backend', node: 'n1' })))
      const dead = evaluateAlerts(view({ agents: [{ ...agent, lastSeenAt: T0 - 120_000 }] }))
      assert.deepEqual(names(dead.firing), ['FleetAgentDead'])
      assert.deepEqual(dead.firing[0]?.labels, { alertname: 'FleetAgentDead', severity: 'warning', agent: 'A', role: 'backend', node: 'n1' })
      assert.match(dead.firing[0]?.annotations.description ?? '', /120 s/)
    })
    it('follows a custom threshold and rejects a bad one', () => {
      const v = view({ agents: [{ ...agent, lastSeenAt: T0 - 3000 }] })
      assert.deepEqual(names(evaluateAlerts(v, { ...DEFAULT_ALERT_THRESHOLDS, agentDeadMs: 3000 }).firing), ['FleetAgentDead'])
      assert.throws(() => evaluateAlerts(v, { ...DEFAULT_ALERT_THRESHOLDS, agentDeadMs: 0 }), InvalidRuleOptionError)
    })
  })

  it('FleetTaskFailed fires per failed task with task and epic, and the reason', () => {
    const r = evaluateAlerts(view({ failedTasks: [{ id: 'T1', epic: 'E1', title: 'Do it', reason: 'lease expired 3 times' }] }))
    assert.deepEqual(r.firing.map(a => a.labels), [{ alertname: 'FleetTaskFailed', severity: 'warning', task: 'T1', epic: 'E1' }])
    assert.match(r.firing[0]?.annotations.description ?? '', /lease expired 3 times/)
  })

  it('FleetMergeEjected fires per task with the reason and a bounded output tail', () => {
    const output = 'x'.repeat(5000) + 'CONFLICT in a.txt'
    const r = evaluateAlerts(view({ ejected: [{ taskId: 'T2', branch: 'fleet/T2', reason: 'merge conflict', output }] }))
    assert.deepEqual(r.firing.map(a => a.labels), [{ alertname: 'FleetMergeEjected', severity: 'info', task: 'T2' }])
    const d = r.firing[0]?.annotations.description ?? ''
    assert.match(d, /merge conflict/)
    assert.match(d, /CONFLICT in a\.txt$/)
    assert.ok(d.length < 1000, `description of ${d.length} characters`)
  })

  describe('FleetMergeQueueStuck', () => {
    const stuck = (q: AlertView['queue']): string[] => names(evaluateAlerts(view({ queue: q })).firing)
    it('fires when entries wait and nothing left the queue for queueStuckMs', () => {
      assert.deepEqual(stuck({ waiting: 2, waitingSince: T0 - 700_000, lastProgressAt: T0 - 599_000, leaderCandidates: 1, noCandidatesSince: null }), [])
      assert.deepEqual(stuck({ waiting: 2, waitingSince: T0 - 700_000, lastProgressAt: T0 - 600_000, leaderCandidates: 1, noCandidatesSince: null }), ['FleetMergeQueueStuck'])
    })
    it('counts from the oldest wait when the queue was idle before (a new entry is not stuck)', () => {
      assert.deepEqual(stuck({ waiting: 1, waitingSince: T0 - 1000, lastProgressAt: T0 - 9_000_000, leaderCandidates: 1, noCandidatesSince: null }), [])
      assert.deepEqual(stuck({ waiting: 1, waitingSince: T0 - 600_000, lastProgressAt: null, leaderCandidates: 1, noCandidatesSince: null }), ['FleetMergeQueueStuck'])
    })
    it('fires when entries wait and no live node could lead for 30 s; never when nothing waits', () => {
      assert.deepEqual(stuck({ waiting: 1, waitingSince: T0, lastProgressAt: T0, leaderCandidates: 0, noCandidatesSince: T0 - 30_000 }), ['FleetMergeQueueStuck'])
      assert.deepEqual(stuck({ waiting: 1, waitingSince: T0, lastProgressAt: T0, leaderCandidates: 0, noCandidatesSince: T0 - 29_000 }), [], 'a blip (start-up, leader change) is not stuck')
      assert.deepEqual(stuck({ waiting: 0, waitingSince: null, lastProgressAt: null, leaderCandidates: 0, noCandidatesSince: T0 - 90_000 }), [])
    })
  })

  describe('FleetNodeDown and FleetNodeOutOfSync', () => {
    it('a known peer that is not live is down; a live one clears it', () => {
      const down = evaluateAlerts(view({ peers: [{ id: 'p1', live: false, lastSeenAt: T0 - 20_000, behindSince: null }] }))
      assert.deepEqual(down.firing.map(a => a.labels), [{ alertname: 'FleetNodeDown', severity: 'critical', peer: 'p1' }])
      const up = evaluateAlerts(view({ peers: [{ id: 'p1', live: true, lastSeenAt: T0, behindSince: null }] }))
      assert.deepEqual(up.firing, [])
      assert.ok(up.clear.has(fingerprintOf('FleetNodeDown', { peer: 'p1' })))
    })
    it('a peer never heard announcing is neither down nor clear', () => {
      const r = evaluateAlerts(view({ peers: [{ id: 'p1', live: false, lastSeenAt: null, behindSince: null }] }))
      assert.deepEqual(r.firing, [])
      assert.ok(!r.clear.has(fingerprintOf('FleetNodeDown', { peer: 'p1' })))
    })
    it('a live peer behind for more than outOfSyncMs is out of sync', () => {
      const at = (behindSince: number | null): string[] => names(evaluateAlerts(view({ peers: [{ id: 'p1', live: true, lastSeenAt: T0, behindSince }] })).firing)
      assert.deepEqual(at(T0 - 60_000), [])
      assert.deepEqual(at(T0 - 60_001), ['FleetNodeOutOfSync'])
      assert.deepEqual(at(null), [])
      // A dead peer is down, not out of sync.
      assert.deepEqual(names(evaluateAlerts(view({ peers: [{ id: 'p1', live: false, lastSeenAt: T0 - 90_000, behindSince: T0 - 90_000 }] })).firing), ['FleetNodeDown'])
    })
    it('in a large cluster waits longer than a busy peer\'s announced heads can be old', () => {
      // 199 live peers: heads are announced every headsAnnounceMs(200) = 250 s.
      const peers = (behindSince: number): AlertView['peers'] => Array.from({ length: 199 }, (_, i) => ({ id: `p${i}`, live: true, lastSeenAt: T0, behindSince: i === 0 ? behindSince : null }))
      const threshold = headsAnnounceMs(200) + OUT_OF_SYNC_SLACK_MS
      assert.deepEqual(names(evaluateAlerts(view({ peers: peers(T0 - threshold) })).firing), [], 'fired on heads no older than the interval allows')
      assert.deepEqual(names(evaluateAlerts(view({ peers: peers(T0 - threshold - 1) })).firing), ['FleetNodeOutOfSync'])
    })
  })

  describe('FleetPlanStalled', () => {
    it('fires with idle agents for available work and no claim for planStalledMs', () => {
      const at = (lastClaimAt: number | null, idle: number, watchSince = T0 - 3_600_000): string[] =>
        names(evaluateAlerts(view({ watchSince, plan: { lastClaimAt, idleAgentsWithWork: idle } })).firing)
      assert.deepEqual(at(T0 - 600_000, 2), ['FleetPlanStalled'])
      assert.deepEqual(at(T0 - 599_000, 2), [])
      assert.deepEqual(at(T0 - 600_000, 0), [], 'no idle agent that could take the work')
      assert.deepEqual(at(null, 1), ['FleetPlanStalled'])
      assert.deepEqual(at(null, 1, T0 - 1000), [], 'a node that just started waits a full window')
    })
  })

  describe('planTransitions', () => {
    const dead = evaluateAlerts(view({ agents: [{ id: 'A', role: 'r', node: 'n', lastSeenAt: 0 }] }))
    const fp = dead.firing[0]?.fingerprint ?? ''
    const rec = (status: 'firing' | 'resolved', alertname = 'FleetAgentDead', f = fp): AlertRecordState => ({ fingerprint: f, alertname, status })

    it('fires what is not recorded as firing, once', () => {
      assert.deepEqual(planTransitions(dead, []).fire.map(a => a.fingerprint), [fp])
      assert.deepEqual(planTransitions(dead, [rec('resolved')]).fire.map(a => a.fingerprint), [fp], 'fires again after it resolved')
      assert.deepEqual(planTransitions(dead, [rec('firing')]), { fire: [], resolve: [] }, 'no second firing')
    })
    it('resolves an observed alert only on evidence it cleared', () => {
      const alive = evaluateAlerts(view({ agents: [{ id: 'A', role: 'r', node: 'n', lastSeenAt: T0 }] }))
      assert.deepEqual(planTransitions(alive, [rec('firing')]).resolve, [fp])
      // This node knows nothing of the agent (e.g. it just joined and the agent is gone): keep it firing.
      assert.deepEqual(planTransitions(evaluateAlerts(view()), [rec('firing')]).resolve, [])
      assert.deepEqual(planTransitions(alive, [rec('resolved')]).resolve, [], 'resolves once')
    })
    it('resolves a document alert as soon as its rule no longer reports it', () => {
      const failed = evaluateAlerts(view({ failedTasks: [{ id: 'T1', epic: null, title: 't', reason: null }] }))
      const f = failed.firing[0]?.fingerprint ?? ''
      assert.deepEqual(planTransitions(evaluateAlerts(view()), [rec('firing', 'FleetTaskFailed', f)]).resolve, [f])
    })
  })
})
