import type { AlertRecord } from '../../crdt/alert-records.js'
import type { ReceiverFormat } from './receivers.js'

/**
 * What a receiver is sent for one transition. The webhook format is Alertmanager's own webhook
 * payload (version 4), so whatever consumes Alertmanager webhooks (chat bridges, paging tools)
 * consumes ours; a receiver URL ending in /api/v2/alerts gets Alertmanager's API format instead.
 */

export const WEBHOOK_RECEIVER_NAME = 'fleet'
/** What Alertmanager writes as endsAt of an alert still firing. */
export const ZERO_TIME = '0001-01-01T00:00:00Z'

export interface WebhookAlert {
  status: 'firing' | 'resolved'
  labels: Record<string, string>
  annotations: Record<string, string>
  startsAt: string
  endsAt: string
  generatorURL: string
  fingerprint: string
}

export interface WebhookPayload {
  version: '4'
  groupKey: string
  truncatedAlerts: number
  status: 'firing' | 'resolved'
  receiver: string
  groupLabels: Record<string, string>
  commonLabels: Record<string, string>
  commonAnnotations: Record<string, string>
  externalURL: string
  alerts: WebhookAlert[]
}

/** Alertmanager's PostableAlert (POST /api/v2/alerts). */
export interface PostableAlert {
  labels: Record<string, string>
  annotations: Record<string, string>
  startsAt: string
  endsAt?: string
  generatorURL: string
}

const iso = (ms: number): string => new Date(ms).toISOString()

/** `externalURL`: the sending node's HTTP URL; links point at its GET /api/alerts. */
export function webhookPayload (r: AlertRecord, externalURL: string): WebhookPayload {
  const alert: WebhookAlert = {
    status: r.status,
    labels: r.labels,
    annotations: r.annotations,
    startsAt: iso(r.startsAt),
    endsAt: r.status === 'resolved' && r.endsAt !== null ? iso(r.endsAt) : ZERO_TIME,
    generatorURL: `${externalURL}/api/alerts`,
    fingerprint: r.fingerprint
  }
  const groupLabels = { alertname: r.alertname }
  return {
    version: '4',
    groupKey: `{}:{alertname="${r.alertname}"}`,
    truncatedAlerts: 0,
    status: r.status,
    receiver: WEBHOOK_RECEIVER_NAME,
    groupLabels,
    commonLabels: r.labels,
    commonAnnotations: r.annotations,
    externalURL,
    alerts: [alert]
  }
}

/**
 * For Alertmanager's API: a firing alert goes without endsAt (Alertmanager then resolves it by
 * itself after its resolve_timeout unless told again, see README "Alerting"); a resolved one
 * carries its end.
 */
export function alertmanagerPayload (r: AlertRecord, externalURL: string): PostableAlert[] {
  return [{
    labels: r.labels,
    annotations: r.annotations,
    startsAt: iso(r.startsAt),
    ...(r.status === 'resolved' && r.endsAt !== null ? { endsAt: iso(r.endsAt) } : {}),
    generatorURL: `${externalURL}/api/alerts`
  }]
}

export function payloadFor (format: ReceiverFormat, r: AlertRecord, externalURL: string): unknown {
  return format === 'alertmanager' ? alertmanagerPayload(r, externalURL) : webhookPayload(r, externalURL)
}
