import type * as A from '@automerge/automerge'
import { own } from './collections.js'
import type { AlertInstance, AlertRecordState, Labels } from './rules/alerts.js'
import { read, str, type DocAlert, type FleetDoc } from './schema.js'

/**
 * Alert records in the document (`alerts[fingerprint]`): the latest transition of each alert, who
 * delivers it and which receivers still lack it. Only transitions and delivery acknowledgements
 * are written; resolved records beyond MAX_RESOLVED_ALERTS are deleted, oldest first.
 */

/** Resolved alerts kept for GET /api/alerts `recent`; older ones are deleted when new ones resolve. */
export const MAX_RESOLVED_ALERTS = 100

export class AlertsMissingError extends Error {
  static readonly code = 'ERR_ALERTS_MISSING'
  readonly code = AlertsMissingError.code
  constructor () {
    super('the document has no alerts map (it was opened without its migrations, see crdt/migrations.ts)')
    this.name = 'AlertsMissingError'
  }
}

export interface AlertRecord extends AlertRecordState {
  labels: Labels
  annotations: { summary: string, description: string }
  startsAt: number
  endsAt: number | null
  sender: string
  /** Receiver ids that have not acknowledged the latest transition. */
  undelivered: string[]
  updatedAt: number
}

function parseJson<T> (s: string, fallback: T): T {
  try {
    const v = JSON.parse(s) as unknown
    return v !== null && typeof v === 'object' ? v as T : fallback
  } catch {
    return fallback
  }
}

export function alertRecordOf (a: DocAlert): AlertRecord {
  const undelivered = read(a.undelivered)
  return {
    fingerprint: read(a.fingerprint),
    alertname: read(a.alertname),
    status: read(a.status) === 'resolved' ? 'resolved' : 'firing',
    labels: parseJson<Labels>(read(a.labels), {}),
    annotations: parseJson(read(a.annotations), { summary: '', description: '' }),
    startsAt: a.startsAt,
    endsAt: a.endsAt ?? null,
    sender: read(a.sender),
    undelivered: undelivered === '' ? [] : undelivered.split(','),
    updatedAt: a.updatedAt
  }
}

/** Which transition a record holds: deliveries are acknowledged against it, not against the alert. */
export function transitionKey (r: Pick<AlertRecord, 'status' | 'startsAt' | 'endsAt'>): string {
  return r.status === 'firing' ? `firing@${r.startsAt}` : `resolved@${r.endsAt ?? 0}`
}

function alertsOf (d: FleetDoc): Record<string, DocAlert> {
  if (d.alerts === undefined) throw new AlertsMissingError()
  return d.alerts
}

/** Records a firing transition (a new alert, or one that resolved before and fires again). */
export function writeFiring (d: FleetDoc, a: AlertInstance, now: number, sender: string, receivers: readonly string[]): void {
  alertsOf(d)[a.fingerprint] = {
    fingerprint: str(a.fingerprint),
    alertname: str(a.alertname),
    labels: str(JSON.stringify(a.labels)),
    annotations: str(JSON.stringify(a.annotations)),
    status: str('firing'),
    startsAt: now,
    endsAt: null,
    sender: str(sender),
    undelivered: str(receivers.join(',')),
    updatedAt: now
  }
}

/** Records the resolution of a firing alert; false if there is none. */
export function writeResolved (d: FleetDoc, fp: string, now: number, sender: string, receivers: readonly string[]): boolean {
  const r = own(alertsOf(d), fp)
  if (r === undefined || read(r.status) !== 'firing') return false
  r.status = str('resolved')
  r.endsAt = now
  r.sender = str(sender)
  r.undelivered = str(receivers.join(','))
  r.updatedAt = now
  return true
}

/** This node takes over delivering a record's transition (its sender died before finishing). */
export function writeTakeOver (d: FleetDoc, fp: string, transition: string, sender: string, receivers: readonly string[]): boolean {
  const r = own(alertsOf(d), fp)
  if (r === undefined || transitionKey(alertRecordOf(r)) !== transition) return false
  r.sender = str(sender)
  r.undelivered = str(receivers.join(','))
  return true
}

/** A receiver acknowledged (or was given up on for) a transition; ignored if the record moved on. */
export function writeDelivered (d: FleetDoc, fp: string, transition: string, receiver: string): void {
  const r = own(alertsOf(d), fp)
  if (r === undefined) return
  const rec = alertRecordOf(r)
  if (transitionKey(rec) !== transition || !rec.undelivered.includes(receiver)) return
  r.undelivered = str(rec.undelivered.filter(x => x !== receiver).join(','))
}

/** Deletes the oldest fully delivered resolved records beyond `keep`. */
export function pruneResolved (d: FleetDoc, resolved: readonly AlertRecord[], keep = MAX_RESOLVED_ALERTS): void {
  if (resolved.length <= keep) return
  const alerts = alertsOf(d)
  const old = [...resolved].filter(r => r.undelivered.length === 0).sort((a, b) => (a.endsAt ?? 0) - (b.endsAt ?? 0))
  for (const r of old.slice(0, resolved.length - keep)) delete alerts[r.fingerprint]
}

/**
 * The records as plain values, kept up to date from each change's patches (only the alerts a
 * change touched are re-read), so readers never walk the document.
 */
export class AlertRecordIndex {
  private readonly records = new Map<string, AlertRecord>()
  private full = true

  constructor (private readonly docOf: () => A.Doc<FleetDoc>) {}

  /** Re-reads the alerts a change touched; returns the records whose transition changed. */
  notePatches (patches: readonly A.Patch[]): Array<{ record: AlertRecord | null, fingerprint: string, transitioned: boolean }> {
    if (this.full) return []
    const touched = new Set<string>()
    for (const p of patches) {
      if (p.path[0] !== 'alerts') continue
      const fp = p.path[1]
      if (typeof fp !== 'string') { this.full = true; return [] }
      touched.add(fp)
    }
    const alerts = this.docOf().alerts
    const out: Array<{ record: AlertRecord | null, fingerprint: string, transitioned: boolean }> = []
    for (const fp of touched) {
      const before = this.records.get(fp)
      const raw = alerts === undefined ? undefined : own(alerts, fp)
      const record = raw === undefined ? null : alertRecordOf(raw)
      if (record === null) this.records.delete(fp)
      else this.records.set(fp, record)
      const transitioned = record !== null && (before === undefined || transitionKey(before) !== transitionKey(record))
      out.push({ record, fingerprint: fp, transitioned })
    }
    return out
  }

  all (): AlertRecord[] {
    this.load()
    return [...this.records.values()]
  }

  get (fp: string): AlertRecord | undefined {
    this.load()
    return this.records.get(fp)
  }

  private load (): void {
    if (!this.full) return
    this.records.clear()
    for (const raw of Object.values(this.docOf().alerts ?? {})) {
      const r = alertRecordOf(raw)
      this.records.set(r.fingerprint, r)
    }
    this.full = false
  }
}
