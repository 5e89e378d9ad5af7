import assert from 'node:assert/strict'
import { renderStatus, renderTasks, type StatusReport } from '../../../node/cli/status.js'

const now = 2_000_000_000_000

function report (over: Partial<StatusReport> = {}): StatusReport {
  return {
    node: 'http://127.0.0.1:3000',
    health: { status: 'healthy', peerId: '12D3KooWSELF', peers: 1, heads: ['aa'], uptimeMs: 65_000, leader: '12D3KooWPEER', term: 3 },
    peers: [{ peerId: '12D3KooWPEER', inSync: true, lastSeenAt: now - 2000, http: 'http://127.0.0.1:3001' }],
    overview: {
      totalTasks: 3,
      totalEstimatedHours: 20,
      byStatus: { pending: 1, done: 2 },
      byEpic: [{ epic: 'E1', title: 'Foundations', tasks: 3, hours: 20, doneHours: 10, percent: 50 }],
      percentComplete: 50
    },
    tasksByStatus: { pending: 1, done: 2 },
    agents: [{ id: 'agent-a', name: 'A', role: 'backend', health_status: 'healthy', lastHeartbeatAt: now - 5000, currentAssignment: 'as-1' }],
    assignments: { 'as-1': { id: 'as-1', taskId: 'T-2', progress: 40 } },
    mergeQueue: [{ id: 'm1', taskId: 'T-3', branch: 'feat/t3', agentId: 'agent-a', state: 'ejected', reason: 'tests failed' }],
    ...over
  }
}

describe('fleet status rendering', () => {
  it('shows leader, peers, counts per status, epic bars, agents at work and ejection reasons', () => {
    const text = renderStatus(report(), now)
    assert.match(text, /^leader {3}12D3KooWPEER, term 3$/m)
    assert.match(text, /^12D3KooWPEER +leader +in sync +2 s ago +http:\/\/127\.0\.0\.1:3001$/m)
    assert.match(text, /^TASKS {2}3 tasks, 20 h, 50% done/m)
    assert.match(text, /PENDING +CLAIMED .*\n +1 +0 +0 +0 +2 +0 +0 +0$/m)
    assert.match(text, /^E1 Foundations +██████████░░░░░░░░░░ +50% +10 h +20 h +3$/m)
    assert.match(text, /^agent-a +A +backend +healthy +T-2 40% +5 s ago$/m)
    assert.match(text, /^MERGE QUEUE {2}0 waiting, 0 merged, 1 ejected$/m)
    assert.match(text, /^T-3 +feat\/t3 +agent-a +ejected +tests failed$/m)
  })

  it('shows a dash for what the node does not offer', () => {
    const text = renderStatus(report({ peers: null, overview: null, tasksByStatus: null, agents: null, mergeQueue: null, health: { status: 'healthy', peerId: 'p', peers: 0, heads: [], uptimeMs: 0 } }), now)
    assert.match(text, /^leader {3}—$/m)
    assert.match(text, /^TASKS {2}—$/m)
    assert.match(text, /^AGENTS {2}—$/m)
    assert.match(text, /^MERGE QUEUE {2}—$/m)
  })

  it('says why a node is degraded and why it is alone: each bootstrap peer with its dial state', () => {
    const text = renderStatus(report({
      peers: [],
      health: {
        status: 'degraded', peerId: 'p', peers: 0, heads: [], uptimeMs: 0,
        problems: [{ code: 'STORAGE_UNAVAILABLE', message: 'the replica cannot be written to disk (disk full: No space left on device)', since: now - 30_000 }],
        bootstrap: [{ peerId: '12D3KooWBootstrapPeerNumberOne1', addrs: ['/dns4/vm1.example/tcp/4001/p2p/12D3KooWBootstrapPeerNumberOne1'], state: 'retrying', retryingSince: now - 120_000, failures: 9, lastError: 'cannot resolve vm1.example: ENOTFOUND', nextAttemptAt: now + 4000 }]
      }
    }), now)
    assert.match(text, /^status {3}degraded, up 0 s$/m)
    assert.match(text, /^problem {2}the replica cannot be written to disk \(disk full: No space left on device\) \(since 30 s ago\)$/m)
    assert.match(text, /^BOOTSTRAP +ADDRESS +STATE +SINCE +TRIES +NEXT +LAST ERROR$/m)
    assert.match(text, /^12D3…NumberOne1 +\/dns4\/vm1\.example\/tcp\/4001 +retrying +2 min ago +9 +in 4 s +cannot resolve vm1\.example: ENOTFOUND$/m)
  })

  it('shows the alerts firing, with their labels and since when', () => {
    const alerts = {
      active: [{ fingerprint: 'f1', alertname: 'FleetAgentDead', status: 'firing', labels: { alertname: 'FleetAgentDead', severity: 'warning', agent: 'agent-a', role: 'backend', node: 'n1' }, annotations: { summary: 'Agent agent-a (backend) is dead' }, startsAt: new Date(now - 90_000).toISOString() }],
      recent: []
    }
    const text = renderStatus(report({ alerts }), now)
    assert.match(text, /^ALERTS {2}1 firing$/m)
    assert.match(text, /^FleetAgentDead +warning +agent=agent-a role=backend node=n1 +2 min ago +Agent agent-a \(backend\) is dead$/m)
    assert.match(renderStatus(report({ alerts: { active: [], recent: [] } }), now), /^ALERTS {2}none firing$/m)
    assert.match(renderStatus(report(), now), /^ALERTS {2}—$/m, 'a node without alerting shows a dash')
  })

  it('lists tasks with a total of hours', () => {
    const text = renderTasks([
      { id: 'T-1', title: 'Set up CI', epic: 'E1', role: null, status: 'done', estimatedHours: 8 },
      { id: 'T-2', title: 'Write the API', epic: 'E1', role: 'backend', status: 'in_progress', estimatedHours: 12, assignee: 'agent-a', progress: 40 }
    ])
    assert.match(text, /^T-2 +in_progress +E1 +12 h +agent-a +40% +Write the API$/m)
    assert.match(text, /^2 tasks, 20 h$/m)
    assert.equal(renderTasks([]), 'no tasks')
  })
})
