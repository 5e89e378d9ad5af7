// fleet dashboard: a plain ES module, no build step, nothing loaded from outside this node.
import { renderAlertsPanel } from './alerts.js'
// It reads the node's REST API, listens to GET /api/events (Server-Sent Events), and on each
// event refetches only the resources that event can have changed, debounced, so a burst of
// events (a plan import) costs one refetch. A missing endpoint or a failed request shows "—".
import { ensureSession } from './login.js'

const STATUSES = ['pending', 'blocked', 'claimed', 'in_progress', 'review', 'done', 'failed', 'cancelled']
/** Columns shown even when empty; the others appear only when they hold a task. */
const ALWAYS_SHOWN = new Set(['pending', 'blocked', 'claimed', 'in_progress', 'review', 'done'])
const STATUS_LABELS = { pending: 'Pending', blocked: 'Blocked', claimed: 'Claimed', in_progress: 'In progress', review: 'Review', done: 'Done', failed: 'Failed', cancelled: 'Cancelled' }
/** Cards per column; a 10,000-task plan must not build 10,000 DOM nodes. */
const CARDS_PER_COLUMN = 60
const DEBOUNCE_MS = 150
/** Under a steady stream of events, refetch at least this often. */
const MAX_WAIT_MS = 1000
/** Heartbeats and peer liveness change without document events: poll them. */
const POLL_MS = 5000
const EVIDENCE_SHOWN = 12
const QUEUE_SHOWN = 30
const RECONNECT_MS = 3000

const state = { health: null, peers: null, agents: null, overview: null, tasks: null, queue: null, evidence: null, alerts: null }
let eventsSeen = 0

// ---------- fetching ----------

/** JSON of a GET, or null when the endpoint is missing, fails, or the node is unreachable. */
async function getJson (path) {
  try {
    const res = await fetch(path, { headers: { accept: 'application/json' } })
    if (!res.ok) return null
    return await res.json()
  } catch {
    return null
  }
}

/** The newest evidence across all tasks (one indexed request, newest first). */
const loadEvidence = () => getJson(`/api/evidence?limit=${EVIDENCE_SHOWN}`)

const resources = {
  health: { load: () => getJson('/health'), render: () => { renderHeader(); renderPeers() } },
  peers: { load: () => getJson('/api/peers'), render: () => { renderHeader(); renderPeers() } },
  agents: { load: () => getJson('/api/agents'), render: () => renderAgents() },
  overview: { load: () => getJson('/api/progress/overview'), render: () => { renderHeader(); renderEpics() } },
  tasks: { load: () => getJson('/api/tasks'), render: () => { renderHeader(); renderBoard(); renderAgents(); invalidate('evidence') } },
  queue: { load: () => getJson('/api/git/merge-queue'), render: () => renderQueue() },
  evidence: { load: loadEvidence, render: () => renderEvidence() },
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

// ---------- debounced refetching ----------

const dirty = new Set()
const inFlight = new Set()
const again = new Set()
let timer = null
let firstDirtyAt = 0

function invalidate (...names) {
  for (const n of names) dirty.add(n)
  const now = Date.now()
  if (timer === null) firstDirtyAt = now
  else clearTimeout(timer)
  const wait = Math.max(0, Math.min(DEBOUNCE_MS, MAX_WAIT_MS - (now - firstDirtyAt)))
  timer = setTimeout(flush, wait)
}

function flush () {
  timer = null
  const names = [...dirty]
  dirty.clear()
  for (const n of names) void refresh(n)
}

const notBefore = new Map()
const deferred = new Set()

async function refresh (name) {
  // One request per resource at a time; an event during it schedules one more afterwards.
  if (inFlight.has(name)) {
    again.add(name)
    return
  }
  // A resource that is slow to load (10,000 tasks) is fetched at most once per three load times.
  const wait = (notBefore.get(name) ?? 0) - Date.now()
  if (wait > 0) {
    if (!deferred.has(name)) {
      deferred.add(name)
      setTimeout(() => { deferred.delete(name); void refresh(name) }, wait)
    }
    return
  }
  inFlight.add(name)
  const started = Date.now()
  try {
    state[name] = await resources[name].load()
    resources[name].render()
    stamp()
  } catch (err) {
    console.error(`dashboard: refreshing ${name} failed`, err)
  } finally {
    notBefore.set(name, Date.now() + 2 * (Date.now() - started))
    inFlight.delete(name)
    if (again.delete(name)) invalidate(name)
  }
}

// ---------- live events ----------

function setLive (s, text) {
  const el = document.getElementById('live')
  el.dataset.state = s
  el.textContent = text
}

function connect () {
  const es = new EventSource('/api/events')
  let dropped = false
  es.onopen = () => {
    setLive('live', 'live')
    // After a gap, do not trust resume (the node may have restarted): reload everything.
    if (dropped) invalidate(...ALL)
    dropped = false
  }
  es.onerror = () => {
    dropped = true
    if (es.readyState === EventSource.CLOSED) {
      setLive('down', 'offline')
      setTimeout(connect, RECONNECT_MS)
    } else {
      setLive('down', 'reconnecting')
    }
  }
  for (const [type, names] of Object.entries(EVENT_RESOURCES)) {
    es.addEventListener(type, () => {
      eventsSeen++
      invalidate(...names)
    })
  }
}

// ---------- rendering helpers ----------

function h (tag, props, ...children) {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === null || v === undefined || v === false) continue
    if (k === 'class') el.className = v
    else el.setAttribute(k, String(v))
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue
    el.append(c instanceof Node ? c : String(c))
  }
  return el
}

const DASH = '—'

function shortId (id) {
  if (typeof id !== 'string' || id === '') return DASH
  return id.length > 14 ? `…${id.slice(-8)}` : id
}

function ago (ms) {
  if (typeof ms !== 'number' || ms <= 0) return DASH
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000))
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.round(s / 60)} min ago`
  if (s < 86400) return `${Math.round(s / 3600)} h ago`
  return `${Math.round(s / 86400)} d ago`
}

function hours (n) {
  if (typeof n !== 'number') return DASH
  return `${Math.round(n * 10) / 10} h`
}

/** A bar; width set through CSSOM (the page's CSP forbids inline style attributes). */
function bar (percent, cls = '') {
  const p = Math.max(0, Math.min(100, Number(percent) || 0))
  const fill = h('span', { class: 'fill' })
  fill.style.width = `${p}%`
  return h('span', { class: `bar ${cls}`, role: 'progressbar', 'aria-valuenow': Math.round(p), 'aria-valuemin': 0, 'aria-valuemax': 100 }, fill)
}

function emptyRow (cols, text = DASH) {
  return h('tr', null, h('td', { colspan: cols, class: 'empty' }, text))
}

function setText (id, text) {
  document.getElementById(id).textContent = text
}

function stamp () {
  setText('updated', `updated ${new Date().toLocaleTimeString()} · ${eventsSeen} live event${eventsSeen === 1 ? '' : 's'} received`)
}

// ---------- sections ----------

function renderHeader () {
  const hl = state.health
  setText('node-id', hl?.peerId ? shortId(hl.peerId) : DASH)
  document.getElementById('node-id').title = hl?.peerId ?? ''
  // Degraded: serving reads, but something needs an operator (e.g. a full disk refuses writes).
  const status = document.getElementById('node-status')
  status.textContent = hl?.status ?? DASH
  status.title = (hl?.problems ?? []).map(p => p.message).join('\n')
  status.className = hl?.status === 'degraded' ? 'warn' : ''
  if (hl === null || !('leader' in hl)) {
    setText('leader', DASH)
  } else if (hl.leader === null) {
    setText('leader', 'none')
  } else {
    const self = hl.leader === hl.peerId ? ' (this node)' : ''
    setText('leader', `${shortId(hl.leader)}${self}${typeof hl.term === 'number' ? ` · term ${hl.term}` : ''}`)
  }
  setText('peer-count', typeof hl?.peers === 'number' ? String(hl.peers) : DASH)
  const total = state.overview?.totalTasks ?? (Array.isArray(state.tasks) ? state.tasks.length : null)
  setText('task-total', total === null ? DASH : String(total))
  const pct = state.overview?.percentComplete
  setText('percent-complete', typeof pct === 'number' ? `${Math.round(pct)}%` : DASH)
}

function renderPeers () {
  const body = document.getElementById('peers')
  const hl = state.health
  // `{peers, bootstrap}` (older nodes: the bare array of peers).
  const peers = Array.isArray(state.peers) ? state.peers : (state.peers?.peers ?? null)
  const connected = new Set((peers ?? []).map(p => p.peerId))
  const unreachable = (state.peers?.bootstrap ?? hl?.bootstrap ?? []).filter(b => b.state !== 'connected' && !connected.has(b.peerId))
  if (hl === null && peers === null) {
    body.replaceChildren(emptyRow(5))
    return
  }
  const leader = hl?.leader ?? null
  const role = (id) => (id === leader ? h('span', { class: 'badge leader' }, 'leader') : 'peer')
  const rows = []
  if (hl !== null) {
    rows.push(h('tr', { class: 'self', 'data-peer-id': hl.peerId },
      h('td', { title: hl.peerId }, h('span', { class: 'nowrap' }, shortId(hl.peerId)), h('small', { class: 'block' }, 'this node')),
      h('td', null, role(hl.peerId)),
      h('td', { title: (hl.heads ?? []).join('\n') }, (hl.heads ?? []).map(x => x.slice(0, 8)).join(' ') || DASH),
      h('td', null, 'now'),
      h('td', { class: 'url' }, location.host)))
  }
  for (const p of Array.isArray(peers) ? peers : []) {
    rows.push(h('tr', { 'data-peer-id': p.peerId },
      h('td', { title: p.peerId, class: 'nowrap' }, shortId(p.peerId)),
      h('td', null, role(p.peerId)),
      h('td', null, p.inSync ? h('span', { class: 'ok' }, 'in sync') : h('span', { class: 'warn' }, 'differs')),
      h('td', { class: 'nowrap' }, ago(p.lastSeenAt)),
      h('td', { class: 'url' }, p.http ? h('a', { href: p.http }, p.http.replace(/^https?:\/\//, '')) : DASH)))
  }
  // Bootstrap peers this node cannot reach: why it may be alone.
  for (const b of unreachable) {
    rows.push(h('tr', { 'data-peer-id': b.peerId, 'data-dial-state': b.state },
      h('td', { title: b.peerId, class: 'nowrap' }, shortId(b.peerId)),
      h('td', null, h('span', { class: 'badge' }, 'bootstrap')),
      h('td', null, h('span', { class: 'warn' }, `${b.state}${b.failures > 0 ? ` (${b.failures})` : ''}`)),
      h('td', { class: 'nowrap' }, b.retryingSince ? `since ${ago(b.retryingSince)}` : DASH),
      h('td', { class: 'reason', title: (b.addrs ?? []).join('\n') }, b.lastError ?? (b.addrs ?? [])[0] ?? DASH)))
  }
  body.replaceChildren(...(rows.length > 0 ? rows : [emptyRow(5)]))
}

function renderEpics () {
  const box = document.getElementById('epics')
  const epics = state.overview?.byEpic
  if (!Array.isArray(epics) || epics.length === 0) {
    box.replaceChildren(h('p', { class: 'empty' }, Array.isArray(epics) ? 'no epics' : DASH))
    return
  }
  const o = state.overview
  const rows = epics.map(e => h('div', { class: 'epic', 'data-epic': e.epic ?? '' },
    h('div', { class: 'epic-name', title: `${e.epic ?? ''} ${e.title ?? ''}` }, e.title && e.title !== e.epic ? h('code', null, e.epic) : null, e.title || e.epic || '(no epic)'),
    bar(e.percent),
    h('div', { class: 'epic-figures' }, `${Math.round(e.percent ?? 0)}%`, h('small', null, ` ${hours(e.doneHours)} of ${hours(e.hours)} · ${e.tasks} tasks`))))
  rows.push(h('div', { class: 'epic total' },
    h('div', { class: 'epic-name' }, 'All'),
    bar(o.percentComplete, 'total'),
    h('div', { class: 'epic-figures' }, `${Math.round(o.percentComplete ?? 0)}%`, h('small', null, ` of ${hours(o.totalEstimatedHours)} · ${o.totalTasks} tasks`))))
  box.replaceChildren(...rows)
}

function taskCard (t) {
  return h('article', { class: `card s-${t.status}`, 'data-task-id': t.id, 'data-status': t.status, title: t.reason ?? t.blockedReason ?? t.title },
    h('div', { class: 'card-head' }, h('code', null, t.id), h('span', { class: 'hours' }, hours(t.estimatedHours))),
    h('div', { class: 'card-title' }, t.title),
    (t.assignee || t.epic) && h('div', { class: 'card-meta' }, t.epic ? h('span', null, t.epic) : null, t.assignee ? h('span', { class: 'who' }, `@${t.assignee}`) : null),
    typeof t.progress === 'number' && t.status !== 'done' ? bar(t.progress, 'thin') : null,
    t.status === 'failed' && t.reason ? h('div', { class: 'card-reason' }, t.reason) : null)
}

function renderBoard () {
  const box = document.getElementById('board')
  const tasks = state.tasks
  if (!Array.isArray(tasks)) {
    box.replaceChildren(h('p', { class: 'empty' }, DASH))
    return
  }
  const by = new Map(STATUSES.map(s => [s, []]))
  for (const t of tasks) {
    if (!by.has(t.status)) by.set(t.status, [])
    by.get(t.status).push(t)
  }
  // Recently finished first: that is what an operator looks for in the done column.
  by.get('done').sort((a, b) => (b.updatedAt ?? 0) - (a.updatedAt ?? 0))
  const cols = []
  for (const [status, list] of by) {
    if (list.length === 0 && !ALWAYS_SHOWN.has(status)) continue
    const more = list.length - CARDS_PER_COLUMN
    cols.push(h('section', { class: `column s-${status}`, 'data-column': status },
      h('h3', null, STATUS_LABELS[status] ?? status, h('span', { class: 'count', 'data-count': status }, String(list.length))),
      h('div', { class: 'cards' },
        list.slice(0, CARDS_PER_COLUMN).map(taskCard),
        more > 0 ? h('p', { class: 'more' }, `+ ${more} more`) : null)))
  }
  box.replaceChildren(...cols)
}

function renderAgents () {
  const body = document.getElementById('agents')
  const agents = state.agents
  if (!Array.isArray(agents)) {
    body.replaceChildren(emptyRow(5))
    return
  }
  if (agents.length === 0) {
    body.replaceChildren(emptyRow(5, 'no agents registered'))
    return
  }
  const byAssignment = new Map((Array.isArray(state.tasks) ? state.tasks : []).filter(t => t.assignmentId).map(t => [t.assignmentId, t]))
  body.replaceChildren(...agents.map((a) => {
    const task = a.currentAssignment ? byAssignment.get(a.currentAssignment) : undefined
    const working = task
      ? h('span', { title: task.title }, h('code', null, task.id), typeof task.progress === 'number' ? ` ${task.progress}%` : '')
      : a.currentTask ? h('code', null, a.currentTask) : a.currentAssignment ? shortId(a.currentAssignment) : h('span', { class: 'muted' }, 'idle')
    const health = a.health_status ?? 'unknown'
    return h('tr', { 'data-agent-id': a.id },
      h('td', { title: a.id }, a.name && a.name !== a.id ? `${a.name} ` : '', h('code', null, a.id)),
      h('td', null, a.role ?? DASH),
      h('td', null, h('span', { class: `badge h-${health}` }, health)),
      h('td', null, working),
      h('td', null, ago(a.lastHeartbeatAt)))
  }))
}

function renderQueue () {
  const body = document.getElementById('queue')
  const q = state.queue
  if (!Array.isArray(q)) {
    body.replaceChildren(emptyRow(5))
    return
  }
  if (q.length === 0) {
    body.replaceChildren(emptyRow(5, 'empty'))
    return
  }
  const rank = { merging: 0, queued: 1, ejected: 2, merged: 3 }
  const rows = [...q].sort((a, b) => (rank[a.state] ?? 9) - (rank[b.state] ?? 9) || (b.priority ?? 0) - (a.priority ?? 0) || (a.enqueuedAt ?? 0) - (b.enqueuedAt ?? 0))
  body.replaceChildren(...rows.slice(0, QUEUE_SHOWN).map(e => h('tr', { 'data-entry-id': e.id, 'data-state': e.state },
    h('td', null, h('code', null, e.taskId)),
    h('td', { class: 'branch' }, h('code', null, e.branch)),
    h('td', { class: 'nowrap' }, e.agentId ?? DASH),
    h('td', null, h('span', { class: `badge q-${e.state}` }, e.state)),
    h('td', { class: e.state === 'ejected' ? 'reason' : '' }, e.state === 'merged' && e.sha ? h('code', null, e.sha.slice(0, 10)) : (e.reason ?? '')))))
}

function renderAlerts () {
  renderAlertsPanel(state.alerts, { h, ago, emptyRow, setText, DASH })
}

function renderEvidence () {
  const list = document.getElementById('evidence')
  const ev = state.evidence
  if (!Array.isArray(ev)) {
    list.replaceChildren(h('li', { class: 'empty' }, DASH))
    return
  }
  if (ev.length === 0) {
    list.replaceChildren(h('li', { class: 'empty' }, 'none yet'))
    return
  }
  list.replaceChildren(...ev.map((e) => {
    const text = typeof e.content === 'string' && e.content !== '' ? e.content.split('\n')[0].slice(0, 140) : null
    return h('li', { 'data-evidence-id': e.id },
      h('span', { class: 'badge kind' }, e.kind),
      h('code', null, e.taskId),
      text !== null ? h('span', { class: 'snippet' }, text) : (e.uri ? h('a', { href: e.uri }, e.uri) : null),
      h('small', null, `${e.agentId ?? ''} · ${ago(e.createdAt)}`))
  }))
}

// ---------- start ----------

async function start () {
  // Under --auth-reads the page first trades the token for a session cookie.
  await ensureSession()
  setLive('connecting', 'connecting')
  invalidate(...ALL)
  connect()
  setInterval(() => {
    invalidate('health', 'peers', 'agents')
    renderAlerts()
    // Relative times ("5 s ago") move without any fetch.
    renderPeers()
  }, POLL_MS)
}

start().catch((err) => { console.error(err) })
