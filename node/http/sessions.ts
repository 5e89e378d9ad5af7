import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * Dashboard sessions under --auth-reads: a browser cannot send a bearer header with its page,
 * script, EventSource or WebSocket requests, so the page trades the token for a cookie once.
 * The cookie is stateless (`v1.<expiresAt>.<nonce>.<HMAC>` with a key derived from the cluster
 * token): any node with the same token accepts it, a restart keeps it, and rotating the token
 * ends every session. It grants reads only; writes still need the bearer token, so a forged
 * cross-site request cannot write even where SameSite is not honoured.
 */
export const SESSION_COOKIE = 'fleet_session'
/** How long a login lasts. */
export const DEFAULT_SESSION_TTL_MS = 12 * 3600_000
const KEY_LABEL = 'fleet dashboard sessions v1'

function mac (clusterToken: string, data: string): Buffer {
  const key = createHmac('sha256', clusterToken).update(KEY_LABEL).digest()
  return createHmac('sha256', key).update(data).digest()
}

export function issueSession (clusterToken: string, now = Date.now(), ttlMs = DEFAULT_SESSION_TTL_MS): { value: string, expiresAt: number } {
  const expiresAt = now + ttlMs
  const data = `v1.${expiresAt}.${randomBytes(12).toString('base64url')}`
  return { value: `${data}.${mac(clusterToken, data).toString('base64url')}`, expiresAt }
}

export function sessionValid (clusterToken: string, value: string, now = Date.now()): boolean {
  const m = /^(v1\.(\d{1,15})\.[A-Za-z0-9_-]{8,32})\.([A-Za-z0-9_-]{43})$/.exec(value)
  if (m === null) return false
  const given = Buffer.from(m[3] as string, 'base64url')
  const expected = mac(clusterToken, m[1] as string)
  return given.length === expected.length && timingSafeEqual(given, expected) && Number(m[2]) > now
}

/** The Set-Cookie header: HttpOnly (no script reads it), SameSite=Strict, Secure over HTTPS. */
export function sessionCookie (value: string, opts: { maxAgeS: number, secure: boolean }): string {
  return `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${opts.maxAgeS}; HttpOnly; SameSite=Strict${opts.secure ? '; Secure' : ''}`
}

/** One cookie's value from a Cookie header, or null. */
export function cookieValue (header: string | undefined, name: string): string | null {
  if (header === undefined) return null
  for (const part of header.split(';')) {
    const i = part.indexOf('=')
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim()
  }
  return null
}
