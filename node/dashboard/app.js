// fleet dashboard: plain ES modules, no build step, nothing loaded from outside this node.
// It reads the node's REST API and refetches, on each live event, only the resources that event
// can have changed (refresh.js). A missing endpoint or a failed request shows "—".
import { renderAlertsPanel } from './alerts.js'
import { renderBoard } from './board.js'
import { setText } from './dom.js'
import { ensureSession } from './login.js'
import { EVIDENCE_SHOWN, renderAgents, renderEpics, renderEvidence, renderHeader, renderPeers, renderQueue } from './panels.js'
import { connect, createRefresher, getJson, setLive } from './refresh.js'

/** Heartbeats and peer liveness change without document events: poll them. */
const POLL_MS = 5000

const state = { health: null, peers: null, agents: null, overview: null, tasks: null, queue: null, evidence: null, alerts: null }
let eventsSeen = 0

const resources = {
  health: { load: () => getJson('/health'), render: () => { renderHeader(state); renderPeers(state) } },
  peers: { load: () => getJson('/api/peers'), render: () => { renderHeader(state); renderPeers(state) } },
  agents: { load: () => getJson('/api/agents'), render: () => renderAgents(state) },
  overview: { load: () => getJson('/api/progress/overview'), render: () => { renderHeader(state); renderEpics(state) } },
  tasks: { load: () => getJson('/api/tasks'), render: () => { renderHeader(state); renderBoard(state); renderAgents(state); refresher.invalidate('evidence') } },
  queue: { load: () => getJson('/api/git/merge-queue'), render: () => renderQueue(state) },
  // The newest evidence across all tasks (one indexed request, newest first).
  evidence: { load: () => getJson(`/api/evidence?limit=${EVIDENCE_SHOWN}`), render: () => renderEvidence(state) },
  alerts: { load: () => getJson('/api/alerts'), render: () => renderAlerts() }
}
const ALL = Object.keys(resources)

/** Which resources an event of each type can change. */
const EVENT_RESOURCES = {
  snapshot: ALL,
  task: ['tasks', 'overview'],
  assignment: ['tasks', 'agents', 'overview'],
  agent: ['agents'],
  merge: ['queue'],
  evidence: ['evidence'],
  epic: ['overview', 'tasks'],
  plan: ['overview', 'tasks'],
  peer: ['peers', 'health'],
  leader: ['health', 'peers'],
  alert: ['alerts']
}

const refresher = createRefresher(resources, state, stamp)

function stamp () {
  setText('updated', `updated ${new Date().toLocaleTimeString()} · ${eventsSeen} live event${eventsSeen === 1 ? '' : 's'} received`)
}

function renderAlerts () {
  renderAlertsPanel(state.alerts)
}

async function start () {
  // Under --auth-reads the page first trades the token for a session cookie.
  await ensureSession()
  setLive('connecting', 'connecting')
  refresher.invalidate(...ALL)
  connect({ eventResources: EVENT_RESOURCES, invalidate: refresher.invalidate, all: ALL, onEvent: () => { eventsSeen++ } })
  setInterval(() => {
    refresher.invalidate('health', 'peers', 'agents')
    renderAlerts()
    // Relative times ("5 s ago") move without any fetch.
    renderPeers(state)
  }, POLL_MS)
}

start().catch((err) => { console.error(err) })
