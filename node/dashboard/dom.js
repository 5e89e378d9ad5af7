// Rendering helpers shared by the dashboard's sections: element builder, placeholders, formats.

export function h (tag, props, ...children) {
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

export const DASH = '—'

export function shortId (id) {
  if (typeof id !== 'string' || id === '') return DASH
  return id.length > 14 ? `…${id.slice(-8)}` : id
}

export function ago (ms) {
  if (typeof ms !== 'number' || ms <= 0) return DASH
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000))
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.round(s / 60)} min ago`
  if (s < 86400) return `${Math.round(s / 3600)} h ago`
  return `${Math.round(s / 86400)} d ago`
}

export function hours (n) {
  if (typeof n !== 'number') return DASH
  return `${Math.round(n * 10) / 10} h`
}

/** A bar; width set through CSSOM (the page's CSP forbids inline style attributes). */
export function bar (percent, cls = '') {
  const p = Math.max(0, Math.min(100, Number(percent) || 0))
  const fill = h('span', { class: 'fill' })
  fill.style.width = `${p}%`
  return h('span', { class: `bar ${cls}`, role: 'progressbar', 'aria-valuenow': Math.round(p), 'aria-valuemin': 0, 'aria-valuemax': 100 }, fill)
}

export function emptyRow (cols, text = DASH) {
  return h('tr', null, h('td', { colspan: cols, class: 'empty' }, text))
}

export function setText (id, text) {
  document.getElementById(id).textContent = text
}

/** Fills table body `id`: "—" when the list did not load (null), `emptyText` when it is empty, else one row per item. */
export function fillTable (id, list, cols, emptyText, rowOf) {
  const body = document.getElementById(id)
  if (!Array.isArray(list)) body.replaceChildren(emptyRow(cols))
  else if (list.length === 0) body.replaceChildren(emptyRow(cols, emptyText))
  else body.replaceChildren(...list.map(rowOf))
}
