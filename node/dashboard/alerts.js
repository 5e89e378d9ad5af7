// The dashboard's alerts panel (GET /api/alerts): firing alerts first, then the last few resolved.
import { ago, DASH, emptyRow, h, setText } from './dom.js'

/** Resolved alerts shown under the firing ones. */
const RESOLVED_ALERTS_SHOWN = 5

/** Labels other than alertname and severity, as k=v pairs. */
function ownLabels (labels) {
  return Object.entries(labels ?? {}).filter(([k]) => k !== 'alertname' && k !== 'severity').map(([k, v]) => `${k}=${v}`).join(' ')
}

export function renderAlertsPanel (alerts) {
  const body = document.getElementById('alerts')
  if (alerts === null || !Array.isArray(alerts.active)) {
    setText('alerts-summary', '')
    body.replaceChildren(emptyRow(6))
    return
  }
  setText('alerts-summary', alerts.active.length === 0 ? 'none firing' : `${alerts.active.length} firing`)
  const resolved = (Array.isArray(alerts.recent) ? alerts.recent : []).filter(r => r.status === 'resolved').slice(0, RESOLVED_ALERTS_SHOWN)
  const rows = [...alerts.active, ...resolved]
  if (rows.length === 0) {
    body.replaceChildren(emptyRow(6, 'no alerts'))
    return
  }
  body.replaceChildren(...rows.map(r => h('tr', { 'data-fingerprint': r.fingerprint, 'data-status': r.status, class: `alert-${r.status}` },
    h('td', { class: 'nowrap' }, r.alertname),
    h('td', null, h('span', { class: `badge sev-${r.labels?.severity ?? 'none'}` }, r.labels?.severity ?? DASH)),
    h('td', null, h('code', null, ownLabels(r.labels))),
    h('td', null, h('span', { class: `badge a-${r.status}` }, r.status), r.delivered === false ? h('small', { class: 'block muted' }, 'sending') : null),
    h('td', { class: 'nowrap' }, ago(Date.parse(r.status === 'firing' ? r.startsAt : r.endsAt))),
    h('td', { title: r.annotations?.description ?? '' }, r.annotations?.summary ?? ''))))
}
