/**
 * The vocabulary of the Markdown plan form: which `key: value` names mean which plan field, and
 * how their text becomes a value. Kept apart from the line-by-line reader so both bullet fields
 * and heading attributes (`(8h, role: backend)`) share one set of rules.
 */

export type TaskField = 'estimatedHours' | 'role' | 'dependsOn' | 'priority' | 'acceptance' | 'description'
export type EpicField = 'role'
export type PlanField = 'id'

/** Keys are compared after normalizeKey, so `Depends on`, `depends-on` and `dependsOn` are one key. */
export const TASK_KEYS: Readonly<Record<string, TaskField>> = {
  hours: 'estimatedHours',
  hour: 'estimatedHours',
  estimate: 'estimatedHours',
  estimatedhours: 'estimatedHours',
  role: 'role',
  depends: 'dependsOn',
  dependson: 'dependsOn',
  deps: 'dependsOn',
  dependencies: 'dependsOn',
  priority: 'priority',
  prio: 'priority',
  acceptance: 'acceptance',
  acceptancecriteria: 'acceptance',
  description: 'description'
}
export const EPIC_KEYS: Readonly<Record<string, EpicField>> = { role: 'role' }
export const PLAN_KEYS: Readonly<Record<string, PlanField>> = { id: 'id' }

/** The names shown in "unknown field" messages. */
export const TASK_KEY_NAMES = ['hours', 'role', 'depends', 'priority', 'acceptance', 'description'] as const
export const EPIC_KEY_NAMES = ['role'] as const
export const PLAN_KEY_NAMES = ['id'] as const

export function normalizeKey (key: string): string {
  return key.toLowerCase().replace(/[\s_-]+/g, '')
}

export interface FieldValue {
  value: unknown
  /** Set when the text is not a valid value; value then holds the text as written. */
  problem?: string
}

const HOURS = /^(\d+(?:\.\d+)?)\s*(?:h|hrs?|hours?)?$/i
const HOURS_SHORTHAND = /^\d+(?:\.\d+)?\s*(?:h|hrs?|hours?)$/i
const INTEGER = /^[+-]?\d+$/
const NO_DEPENDENCIES = new Set(['none', '-', '—', 'n/a', 'nothing'])

export function parseFieldValue (field: TaskField | EpicField | PlanField, text: string): FieldValue {
  const t = text.trim()
  switch (field) {
    case 'estimatedHours': {
      const m = HOURS.exec(t)
      return m === null
        ? { value: t, problem: `must be a number of hours like 16 or 16h, not ${JSON.stringify(t)}` }
        : { value: Number(m[1]) }
    }
    case 'priority':
      return INTEGER.test(t) ? { value: Number(t) } : { value: t, problem: `must be an integer, not ${JSON.stringify(t)}` }
    case 'dependsOn':
      return { value: parseIdList(t) }
    case 'role':
      // Roles are matched exactly; people write "Backend" in prose, so case is forgiven here.
      return t === '' ? { value: t, problem: 'is empty' } : { value: unquote(t).toLowerCase() }
    case 'id':
      return t === '' ? { value: t, problem: 'is empty' } : { value: unquote(t) }
    case 'acceptance':
      return { value: t === '' ? null : t }
    case 'description':
      return { value: t }
  }
}

/** `T1, T2`, `T1 T2`, `[T1, T2]`, `` `T1` ``, or `none`. */
export function parseIdList (text: string): string[] {
  const t = text.trim().replace(/^\[(.*)\]$/s, '$1').trim()
  if (t === '' || NO_DEPENDENCIES.has(t.toLowerCase())) return []
  return t.split(/[\s,;]+/).map(unquote).filter((s) => s !== '')
}

function unquote (s: string): string {
  return s.replace(/^[`'"](.*)[`'"]$/s, '$1').trim()
}

export interface Attribute {
  /** As written, for messages. */
  key: string
  value: string
}

/**
 * Splits `Title text (8h, role: backend, depends: T1, T2)` into the title and its attributes. The
 * trailing parentheses are attributes only when their first item is an hours shorthand or a
 * `key: value`; otherwise they are part of the title ("Fix cache (legacy)"). Items that are neither
 * continue the previous value, which lets dependency lists contain commas.
 */
export function splitAttributes (text: string): { title: string, attributes: Attribute[] } {
  const m = /\(([^()]*)\)\s*$/.exec(text)
  if (m === null) return { title: text.trim(), attributes: [] }
  const parts = (m[1] as string).split(',').map((p) => p.trim())
  const attributes: Attribute[] = []
  for (const part of parts) {
    const kv = /^([A-Za-z][A-Za-z _-]*?)\s*:(?!\/\/)\s*(.*)$/.exec(part)
    const last = attributes[attributes.length - 1]
    if (HOURS_SHORTHAND.test(part)) attributes.push({ key: 'hours', value: part })
    else if (kv !== null) attributes.push({ key: kv[1] as string, value: kv[2] as string })
    else if (last === undefined) return { title: text.trim(), attributes: [] }
    else last.value = last.value === '' ? part : `${last.value}, ${part}`
  }
  return { title: text.slice(0, m.index).trim(), attributes }
}

/** A list item: `- x`, `* x`, `+ x` or `1. x`. Returns the item's text. */
export function bulletText (line: string): string | undefined {
  const m = /^\s*(?:[-*+]|\d{1,9}[.)])\s+(.*)$/.exec(line)
  return m === null ? undefined : m[1]
}

/**
 * A `- key: value` bullet. Keys are one to three words; a colon starting `://` does not count, so a
 * bullet holding a URL (`- see https://x`) is not mistaken for a field.
 */
export function fieldBullet (line: string): { key: string, value: string } | undefined {
  const item = bulletText(line)
  if (item === undefined) return undefined
  const unbolded = item.replace(/^(\*\*|__)(.+?)\1/, '$2')
  const m = /^([A-Za-z][A-Za-z_-]*(?: [A-Za-z][A-Za-z_-]*){0,2})\s*:(?!\/\/)\s*(.*)$/.exec(unbolded)
  return m === null ? undefined : { key: m[1] as string, value: (m[2] ?? '').trim() }
}

/** `- [T1.2] Title ...` at the start of a line; `- [x]` and `- [ ]` stay checkboxes. */
export function compactTask (line: string): { id: string, rest: string } | undefined {
  const m = /^(?:[-*+]|\d{1,9}[.)])\s+\[([^\]\s]+)\]\s*:?\s*(.*)$/.exec(line)
  if (m === null || m[1] === 'x' || m[1] === 'X') return undefined
  return { id: m[1] as string, rest: m[2] as string }
}
