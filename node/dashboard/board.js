// The task board: one column per status, the first cards of each (a 10,000-task plan must not
// build 10,000 DOM nodes).
import { bar, DASH, h, hours } from './dom.js'

const STATUSES = ['pending', 'blocked', 'claimed', 'in_progress', 'review', 'done', 'failed', 'cancelled']
/** Columns shown even when empty; the others appear only when they hold a task. */
const ALWAYS_SHOWN = new Set(['pending', 'blocked', 'claimed', 'in_progress', 'review', 'done'])
const STATUS_LABELS = { pending: 'Pending', blocked: 'Blocked', claimed: 'Claimed', in_progress: 'In progress', review: 'Review', done: 'Done', failed: 'Failed', cancelled: 'Cancelled' }
const CARDS_PER_COLUMN = 60
function taskCard (t) {
  return h('article', { class: `card s-${t.status}`, 'data-task-id': t.id, 'data-status': t.status, title: t.reason ?? t.blockedReason ?? t.title },
    h('div', { class: 'card-head' }, h('code', null, t.id), h('span', { class: 'hours' }, hours(t.estimatedHours))),
    h('div', { class: 'card-title' }, t.title),
    (t.assignee || t.epic) && h('div', { class: 'card-meta' }, t.epic ? h('span', null, t.epic) : null, t.assignee ? h('span', { class: 'who' }, `@${t.assignee}`) : null),
    typeof t.progress === 'number' && t.status !== 'done' ? bar(t.progress, 'thin') : null,
    t.status === 'failed' && t.reason ? h('div', { class: 'card-reason' }, t.reason) : null)
}

export function renderBoard (state) {
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
