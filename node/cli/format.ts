/** Plain-text formatting for command output: aligned tables, progress bars, short figures. */

export const DEFAULT_BAR_WIDTH = 20
export const DASH = '—'

export interface Column {
  header: string
  align?: 'left' | 'right'
  /** Longer cells are cut with an ellipsis. */
  maxWidth?: number
}

function cut (s: string, max: number | undefined): string {
  if (max === undefined || s.length <= max) return s
  return max <= 1 ? s.slice(0, max) : s.slice(0, max - 1) + '…'
}

/**
 * An aligned table: a header line, then one line per row; columns separated by two spaces, no
 * trailing spaces. Rows shorter than the header get empty cells.
 */
export function formatTable (columns: Column[], rows: string[][]): string {
  const cells = rows.map(r => columns.map((c, i) => cut(r[i] ?? '', c.maxWidth)))
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map(r => r[i]?.length ?? 0)))
  const line = (vals: string[]): string => vals
    .map((v, i) => (columns[i]?.align === 'right' ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0)))
    .join('  ')
    .trimEnd()
  return [line(columns.map(c => c.header)), ...cells.map(line)].join('\n')
}

/** `████████░░░░░░░░░░░░` for a percentage (clamped to 0-100), `width` cells wide. */
export function progressBar (percent: number, width = DEFAULT_BAR_WIDTH): string {
  const p = Number.isFinite(percent) ? Math.max(0, Math.min(100, percent)) : 0
  const full = Math.round((p / 100) * width)
  return '█'.repeat(full) + '░'.repeat(width - full)
}

/** `5 s ago`, `3 min ago`, `2 h ago`, `4 d ago`; a dash for a missing time. */
export function ago (at: number | null | undefined, now = Date.now()): string {
  if (typeof at !== 'number' || at <= 0) return DASH
  const s = Math.max(0, Math.round((now - at) / 1000))
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.round(s / 60)} min ago`
  if (s < 86400) return `${Math.round(s / 3600)} h ago`
  return `${Math.round(s / 86400)} d ago`
}

/** `2 h 5 min`, `40 s`: a duration in the two largest units. */
export function duration (ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  const d = Math.floor(s / 86400)
  const h = Math.floor((s % 86400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  if (d > 0) return `${d} d ${h} h`
  if (h > 0) return `${h} h ${m} min`
  if (m > 0) return `${m} min ${s % 60} s`
  return `${s} s`
}

/** Hours with at most one decimal: `8 h`, `2.5 h`. */
export function hours (n: number | null | undefined): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) return DASH
  return `${Math.round(n * 10) / 10} h`
}

/** A peer id short enough for a table but still telling peers apart (its tail is the random part). */
export function shortId (id: string | null | undefined, keep = 10): string {
  if (typeof id !== 'string' || id === '') return DASH
  return id.length > keep + 4 ? `${id.slice(0, 4)}…${id.slice(-keep)}` : id
}
