// fleet dashboard, analytics section: burn-down with the forecast, throughput, per-agent figures.
// Its own module (apart from app.js) with its own event stream: it refetches the analytics
// endpoints, debounced, when tasks, assignments or merges change, and polls the forecast (it
// depends on which agents are alive, which no document event announces). Charts are drawn by
// uPlot (served by this node from its node_modules, global `uPlot`), nothing is loaded from outside.

const DEBOUNCE_MS = 1000
const POLL_MS = 10_000
const RECONNECT_MS = 3000
const EVENTS = ['snapshot', 'task', 'assignment', 'merge', 'agent', 'plan']
const CHART_HEIGHT = 220
/** The throughput bucket (GET /api/analytics/throughput?bucket=hour), in seconds. */
const BUCKET_S = 3600

const charts = { burndown: null, throughput: null }

async function getJson (path) {
  try {
    const res = await fetch(path, { headers: { accept: 'application/json' } })
    return res.ok ? await res.json() : null
  } catch {
    return null
  }
}

function h (tag, props, ...children) {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === null || v === undefined || v === false) continue
    if (k === 'class') el.className = v
    else el.setAttribute(k, String(v))
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c))
  return el
}

const secs = (ms) => ms / 1000
const fmtTime = (ms) => (typeof ms === 'number' ? new Date(ms).toLocaleString() : '—')
const fmtHours = (x) => (typeof x === 'number' ? `${Math.round(x * 10) / 10} h` : '—')
function fmtDuration (ms) {
  if (typeof ms !== 'number') return '—'
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.round(s / 60)} min`
  if (s < 86400) return `${(s / 3600).toFixed(1)} h`
  return `${(s / 86400).toFixed(1)} d`
}
const fmtRatio = (x) => (typeof x === 'number' ? (x < 0.01 ? x.toExponential(1) : x.toFixed(2)) : '—')

function width (el) {
  return Math.max(240, el.clientWidth - 8)
}

/** Creates the chart on first data, then only swaps its data (uPlot redraws cheaply). */
function draw (name, el, opts, data, points = data[0].length) {
  el.dataset.points = String(points)
  if (typeof globalThis.uPlot !== 'function') return
  if (charts[name] === null) {
    el.replaceChildren()
    charts[name] = new globalThis.uPlot({ ...opts, width: width(el), height: CHART_HEIGHT }, data, el)
  } else {
    charts[name].setData(data)
  }
}

/**
 * Actual remaining hours at each done task, and the forecast from now to the projected finish
 * (p50 of the simulation scaled by observed speed) and to the p90 finish.
 */
function renderBurndown (bd) {
  const el = document.getElementById('burndown-chart')
  if (bd === null || bd.points.length === 0) return
  const rows = new Map()
  const put = (at, i, v) => {
    const x = secs(at)
    const row = rows.get(x) ?? [x, null, null, null]
    row[i] = v
    rows.set(x, row)
  }
  for (const p of bd.points) put(p.at, 1, p.remainingHours)
  const f = bd.forecast
  if (f.projected !== null && f.from.remainingHours > 0) {
    put(f.from.at, 2, f.from.remainingHours)
    put(f.projected.at, 2, 0)
    if (f.p90 !== null) { put(f.from.at, 3, f.from.remainingHours); put(f.p90.at, 3, 0) }
  }
  const sorted = [...rows.values()].sort((a, b) => a[0] - b[0])
  const data = [0, 1, 2, 3].map(i => sorted.map(r => r[i]))
  draw('burndown', el, {
    class: 'chart',
    series: [
      {},
      { label: 'remaining (h)', stroke: '#2f6fde', width: 2, points: { show: true, size: 4 } },
      { label: 'forecast', stroke: '#1f8a4c', dash: [6, 4], width: 2, spanGaps: true },
      { label: 'p90', stroke: '#b26a00', dash: [2, 4], width: 1, spanGaps: true }
    ],
    axes: [{}, { label: 'hours' }],
    scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } }
  }, data)
}

function renderThroughput (buckets) {
  const el = document.getElementById('throughput-chart')
  if (!Array.isArray(buckets) || buckets.length === 0) return
  // An empty bucket each side, so a single bucket (a short run) shows as a bar, not a span of years.
  const x = [secs(buckets[0].start) - BUCKET_S, ...buckets.map(b => secs(b.start)), secs(buckets[buckets.length - 1].start) + BUCKET_S]
  const pad = (values) => [null, ...values, null]
  const data = [x, pad(buckets.map(b => b.hours)), pad(buckets.map(b => b.tasks)), pad(buckets.map(b => b.ejections + b.failures))]
  const bars = globalThis.uPlot?.paths?.bars?.({ size: [0.6, 60] })
  draw('throughput', el, {
    class: 'chart',
    series: [
      {},
      { label: 'hours done', stroke: '#1f8a4c', fill: 'rgba(31,138,76,0.35)', paths: bars, points: { show: false } },
      { label: 'tasks done', stroke: '#2f6fde', width: 2, points: { show: true, size: 6 }, scale: 'n' },
      { label: 'ejected + failed', stroke: '#c0392b', width: 1, points: { show: true, size: 5 }, scale: 'n' }
    ],
    axes: [{}, { label: 'hours' }, { side: 1, scale: 'n', label: 'tasks', grid: { show: false } }],
    scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] }, n: { range: (_u, _min, max) => [0, Math.max(1, max)] } }
  }, data, buckets.length)
}

function renderForecast (f) {
  const el = document.getElementById('forecast-summary')
  if (f === null) { el.textContent = '—'; return }
  const parts = [`${fmtHours(f.remainingHours)} left`, `critical path ${fmtHours(f.criticalPathHours)}`, `lower bound ${fmtHours(f.lowerBoundHours)}`]
  if (f.blockers.length > 0) parts.push(`blocked: no agent for ${f.blockers.map(b => b.role).join(', ')}`)
  else if (f.projectedFinishAt !== null && f.remainingHours > 0) parts.push(`finish ${fmtTime(f.projectedFinishAt)} (p90 ${fmtTime(f.p90FinishAt)})`)
  else if (f.remainingHours === 0) parts.push('all done')
  el.textContent = parts.join(' · ')
  el.title = f.criticalPath.length > 0 ? `critical path: ${f.criticalPath.join(' → ')}` : ''
}

function renderPerformance (agents) {
  const body = document.getElementById('agent-performance')
  if (!Array.isArray(agents)) return
  if (agents.length === 0) { body.replaceChildren(h('tr', {}, h('td', { colspan: 9, class: 'empty' }, 'no agents'))); return }
  body.replaceChildren(...agents.map(a => h('tr', { 'data-perf-agent': a.agentId },
    h('td', {}, h('code', {}, a.agentId)), h('td', {}, a.role), h('td', { class: 'num' }, a.tasksDone), h('td', { class: 'num' }, fmtHours(a.hoursDone)),
    h('td', { class: 'num' }, `${a.failures}/${a.attempts}`), h('td', { class: 'num' }, fmtDuration(a.busyMs)), h('td', { class: 'num' }, fmtDuration(a.cycleTimeMs.p50)),
    h('td', { class: 'num' }, fmtRatio(a.estimateRatio)), h('td', { class: 'nowrap' }, fmtTime(a.lastDoneAt)))))
}

let timer = null
let running = false
let again = false

async function refresh () {
  if (running) { again = true; return }
  running = true
  try {
    const [bd, tp, agents, forecast] = await Promise.all([
      getJson('/api/analytics/burndown'), getJson('/api/analytics/throughput?bucket=hour'), getJson('/api/analytics/agents'), getJson('/api/progress/forecast')
    ])
    renderBurndown(bd)
    renderThroughput(tp)
    renderPerformance(agents)
    renderForecast(forecast)
  } finally {
    running = false
    if (again) { again = false; schedule() }
  }
}

function schedule () {
  if (timer !== null) return
  timer = setTimeout(() => { timer = null; void refresh() }, DEBOUNCE_MS)
}

function connect () {
  const es = new EventSource('/api/events')
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) setTimeout(connect, RECONNECT_MS)
  }
  for (const type of EVENTS) es.addEventListener(type, schedule)
}

window.addEventListener('resize', () => {
  for (const [name, chart] of Object.entries(charts)) {
    const el = document.getElementById(`${name}-chart`)
    if (chart !== null && el !== null) chart.setSize({ width: width(el), height: CHART_HEIGHT })
  }
})

void refresh()
connect()
setInterval(schedule, POLL_MS)
