// The dashboard's panels besides the board: header, peers, epics, agents, merge queue, evidence.
// Each draws from the page's state (the last answer of each API resource, null when it failed).
import { ago, bar, DASH, emptyRow, fillTable, h, hours, setText, shortId } from './dom.js'

export const EVIDENCE_SHOWN = 12
const QUEUE_SHOWN = 30
export function renderHeader (state) {
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

export function renderPeers (state) {
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

export function renderEpics (state) {
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

export function renderAgents (state) {
  const byAssignment = new Map((Array.isArray(state.tasks) ? state.tasks : []).filter(t => t.assignmentId).map(t => [t.assignmentId, t]))
  fillTable('agents', state.agents, 5, 'no agents registered', (a) => {
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
  })
}

const QUEUE_RANK = { merging: 0, queued: 1, ejected: 2, merged: 3 }

export function renderQueue (state) {
  const q = Array.isArray(state.queue)
    ? [...state.queue].sort((a, b) => (QUEUE_RANK[a.state] ?? 9) - (QUEUE_RANK[b.state] ?? 9) || (b.priority ?? 0) - (a.priority ?? 0) || (a.enqueuedAt ?? 0) - (b.enqueuedAt ?? 0)).slice(0, QUEUE_SHOWN)
    : null
  fillTable('queue', q, 5, 'empty', e => h('tr', { 'data-entry-id': e.id, 'data-state': e.state },
    h('td', null, h('code', null, e.taskId)),
    h('td', { class: 'branch' }, h('code', null, e.branch)),
    h('td', { class: 'nowrap' }, e.agentId ?? DASH),
    h('td', null, h('span', { class: `badge q-${e.state}` }, e.state)),
    h('td', { class: e.state === 'ejected' ? 'reason' : '' }, e.state === 'merged' && e.sha ? h('code', null, e.sha.slice(0, 10)) : (e.reason ?? ''))))
}

export function renderEvidence (state) {
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
