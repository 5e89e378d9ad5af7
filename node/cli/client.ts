import { Transport, TransportError } from './transport.js'

/** A small HTTP client for a fleet node's API, for CLI commands (status, tasks, plan import...). */

export const DEFAULT_NODE_URL = 'http://127.0.0.1:3000'
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000

/** The node did not answer at all: refused, unknown host, timed out. */
export class NodeUnreachableError extends Error {
  override name = 'NodeUnreachableError'
  /** false when the request cannot have reached the node (refused, TLS failed): safe to send elsewhere. */
  constructor (readonly url: string, readonly reason: string, readonly maybeProcessed = true) {
    super(`cannot reach fleet node at ${url} (${reason})`)
  }
}

/** The node answered with an error status; `body` is its `{error, details}` when it sent one. */
export class ApiError extends Error {
  override name = 'ApiError'
  constructor (readonly method: string, readonly path: string, readonly status: number, readonly body: unknown) {
    const msg = typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string'
      ? (body as { error: string }).error
      : typeof body === 'string' && body !== '' ? body.slice(0, 200) : 'no details'
    super(`${method} ${path} -> ${status}: ${msg}`)
  }

  get details (): unknown {
    return typeof this.body === 'object' && this.body !== null ? (this.body as { details?: unknown }).details ?? null : null
  }
}

export class BadNodeUrlError extends Error {
  override name = 'BadNodeUrlError'
  constructor (value: string) {
    super(`"${value}" is not a node URL (expected http://HOST:PORT or HOST:PORT)`)
  }
}

/**
 * Accepts `http://host:port[/]`, `https://...` or a bare `host:port`; returns the base URL without
 * a trailing slash.
 */
export function parseNodeUrl (value: string): string {
  const v = value.trim()
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : `http://${v}`
  let u: URL
  try {
    u = new URL(withScheme)
  } catch {
    throw new BadNodeUrlError(value)
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.hostname === '' || u.search !== '' || u.hash !== '') throw new BadNodeUrlError(value)
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`
}

export interface FleetClientInit {
  /** Base URL of the node (see parseNodeUrl); default DEFAULT_NODE_URL. */
  baseUrl?: string
  /** Per request, default DEFAULT_REQUEST_TIMEOUT_MS. */
  timeoutMs?: number
  /** Sent as `authorization: Bearer <token>` when set (nodes listening beyond loopback want one to write). */
  token?: string
  /** PEM of extra CAs for https:// nodes (`--ca FILE`), besides the system's. */
  ca?: string
  /** Connections shared with other clients (e.g. one per node URL of `fleet agent`); default a new one. */
  transport?: Transport
}

/** JSON over HTTP(S) with one-line errors; used by every command that talks to a node. */
export class FleetClient {
  readonly baseUrl: string
  private readonly timeoutMs: number
  private readonly token: string | undefined
  private readonly transport: Transport

  constructor (init: FleetClientInit = {}) {
    this.baseUrl = parseNodeUrl(init.baseUrl ?? DEFAULT_NODE_URL)
    this.timeoutMs = init.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    this.token = init.token
    this.transport = init.transport ?? new Transport(init.ca === undefined ? {} : { ca: init.ca })
  }

  async get<T> (path: string): Promise<T> {
    return await this.request<T>('GET', path)
  }

  /** Like get, but a 404 (endpoint or entity not there) gives null instead of an error. */
  async getOptional<T> (path: string): Promise<T | null> {
    try {
      return await this.request<T>('GET', path)
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null
      throw err
    }
  }

  async post<T> (path: string, body: unknown): Promise<T> {
    return await this.request<T>('POST', path, body)
  }

  async put<T> (path: string, body: unknown): Promise<T> {
    return await this.request<T>('PUT', path, body)
  }

  async request<T> (method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`
    let res: { status: number, text: string }
    try {
      res = await this.transport.send(this.baseUrl + path, method, headers, body === undefined ? undefined : JSON.stringify(body), this.timeoutMs)
    } catch (err) {
      if (err instanceof TransportError) throw new NodeUnreachableError(this.baseUrl, err.reason, err.maybeProcessed)
      throw err
    }
    const text = res.text
    let parsed: unknown = text
    try { parsed = text === '' ? null : JSON.parse(text) } catch { /* not JSON: keep the text for the error */ }
    if (res.status < 200 || res.status > 299) throw new ApiError(method, path, res.status, parsed)
    return parsed as T
  }
}
