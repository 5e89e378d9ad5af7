import { createHash } from 'node:crypto'

/**
 * Where alerts go: `--alert-webhook URL`. Every node is configured alike, so a receiver is named in
 * the document by a short hash of its URL (never the URL itself, which may carry a secret token).
 */

/** Alertmanager's own API takes a list of alerts, not the webhook payload it sends out. */
export const ALERTMANAGER_API_PATH = /\/api\/v2\/alerts\/?$/

export type ReceiverFormat = 'webhook' | 'alertmanager'

export interface Receiver {
  /** 12 hex digits of sha256(url): how the document names it. */
  id: string
  url: string
  format: ReceiverFormat
  /** The URL without credentials or query, for logs. */
  display: string
}

export class BadWebhookUrlError extends Error {
  static readonly code = 'ERR_BAD_WEBHOOK_URL'
  readonly code = BadWebhookUrlError.code
  constructor (value: string, why: string) {
    super(`"${value}" is not a webhook URL: ${why}`)
    this.name = 'BadWebhookUrlError'
  }
}

export function receiverId (url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 12)
}

/** Checks one `--alert-webhook` value: an absolute http(s) URL with a host. */
export function parseReceiver (value: string): Receiver {
  const v = value.trim()
  let u: URL
  try {
    u = new URL(v)
  } catch {
    throw new BadWebhookUrlError(value, 'expected an absolute URL like http://alertmanager:9093/api/v2/alerts')
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new BadWebhookUrlError(value, `scheme ${u.protocol} is not http: or https:`)
  if (u.hostname === '') throw new BadWebhookUrlError(value, 'no host')
  if (u.hash !== '') throw new BadWebhookUrlError(value, 'a #fragment is never sent; remove it')
  const url = u.toString()
  return { id: receiverId(url), url, format: ALERTMANAGER_API_PATH.test(u.pathname) ? 'alertmanager' : 'webhook', display: `${u.protocol}//${u.host}${u.pathname}` }
}

/** Parses every URL; duplicates collapse into one receiver. */
export function parseReceivers (values: readonly string[]): Receiver[] {
  const out = new Map<string, Receiver>()
  for (const v of values) {
    const r = parseReceiver(v)
    out.set(r.id, r)
  }
  return [...out.values()]
}
