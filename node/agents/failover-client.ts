import { EventEmitter } from 'node:events'
import { ApiError, FleetClient, NodeUnreachableError } from '../cli/client.js'
import { Transport } from '../cli/transport.js'
import { backoffDelay, sleep, type BackoffInit } from '../../bootstrap/backoff.js'

/** Per request to one node; a node slower than this counts as down and the next one is asked. */
export const DEFAULT_FAILOVER_TIMEOUT_MS = 10_000
/** Backoff while every node is unreachable: 0.5 s doubling to 15 s, with jitter. */
export const DEFAULT_ALL_DOWN_BACKOFF: Readonly<BackoffInit> = { baseMs: 500, maxMs: 15_000 }

export interface FailoverClientInit {
  /** Node base URLs (parseNodeUrl form), in order of preference; at least one. */
  urls: string[]
  token?: string
  /** PEM of extra CAs for https:// nodes. */
  ca?: string
  /** Default DEFAULT_FAILOVER_TIMEOUT_MS. */
  timeoutMs?: number
  /** Default DEFAULT_ALL_DOWN_BACKOFF. */
  backoff?: BackoffInit
}

export interface RequestOptions {
  /**
   * Whether sending the request twice is harmless. A non-idempotent request whose first try may
   * have been processed (timeout, reset, 5xx) is not sent again: AmbiguousRequestError instead.
   */
  idempotent: boolean
  /** Keep retrying (with backoff) while every node is down, until one answers or `signal` aborts. */
  untilAnswered?: boolean
  signal?: AbortSignal
}

/** Every node was tried once and none answered. */
export class AllNodesDownError extends Error {
  override name = 'AllNodesDownError'
  constructor (readonly reasons: string[]) {
    super(`no fleet node answers (${reasons.join('; ')})`)
  }
}

/** A non-idempotent request may or may not have been processed by a node that then failed. */
export class AmbiguousRequestError extends Error {
  override name = 'AmbiguousRequestError'
  constructor (readonly method: string, readonly path: string, readonly url: string, reason: string) {
    super(`${method} ${path} at ${url}: ${reason}; it may or may not have been applied`)
  }
}

/** The retry loop was stopped (shutdown) while every node was down. */
export class FailoverAbortedError extends Error {
  override name = 'FailoverAbortedError'
}

export interface FailoverEvents {
  /** Requests now go to `to` because `from` failed. */
  switched: [{ from: string, to: string, reason: string }]
  /** No node answered a whole round; the request is retried after `retryInMs` (null: not retried). Once per outage. */
  down: [{ reasons: string[], retryInMs: number | null }]
  /** A node answered again after an outage. */
  back: [{ url: string, downForMs: number }]
}

/** A failure that moves on to the next node: no answer at all, or the node itself failing (5xx). */
function nodeFailure (err: unknown): { reason: string, maybeProcessed: boolean } | null {
  if (err instanceof NodeUnreachableError) return { reason: err.reason, maybeProcessed: err.maybeProcessed }
  // 503: catching up or shutting down; nothing was written.
  if (err instanceof ApiError && err.status >= 500) return { reason: `HTTP ${err.status}`, maybeProcessed: err.status !== 503 }
  return null
}

/**
 * A fleet API client over several nodes. Requests go to the current node; on a connection error,
 * a timeout or a 5xx it moves to the next URL and sends the same request there (only when that is
 * safe, see RequestOptions.idempotent). Any node serves the same document, so an assignment made
 * through one node is carried on through another. Answers 4xx are the caller's business.
 */
export class FailoverClient extends EventEmitter<FailoverEvents> {
  readonly urls: readonly string[]
  private readonly clients: FleetClient[]
  private readonly transport: Transport
  private readonly backoff: BackoffInit
  private index = 0
  private downSince: number | null = null
  private readonly closed = new AbortController()

  constructor (init: FailoverClientInit) {
    super()
    if (init.urls.length === 0) throw new Error('FailoverClient needs at least one node URL')
    this.urls = init.urls
    this.backoff = init.backoff ?? DEFAULT_ALL_DOWN_BACKOFF
    this.transport = new Transport({ keepAlive: true, ...(init.ca === undefined ? {} : { ca: init.ca }) })
    this.clients = init.urls.map(baseUrl => new FleetClient({
      baseUrl,
      timeoutMs: init.timeoutMs ?? DEFAULT_FAILOVER_TIMEOUT_MS,
      transport: this.transport,
      ...(init.token === undefined ? {} : { token: init.token })
    }))
  }

  /** The node requests go to now. */
  get current (): string {
    return this.urls[this.index] ?? ''
  }

  async get<T> (path: string, opts: Omit<RequestOptions, 'idempotent'> = {}): Promise<T> {
    return await this.request<T>('GET', path, undefined, { ...opts, idempotent: true })
  }

  async request<T> (method: string, path: string, body: unknown, opts: RequestOptions): Promise<T> {
    for (let round = 1; ; round++) {
      const reasons: string[] = []
      for (let tried = 0; tried < this.clients.length; tried++) {
        const i = this.index
        const client = this.clients[i] as FleetClient
        try {
          const r = await client.request<T>(method, path, body)
          this.noteAnswer(client.baseUrl)
          return r
        } catch (err) {
          const failure = nodeFailure(err)
          if (failure === null) {
            // The node answered (4xx): it is up, whatever it said.
            this.noteAnswer(client.baseUrl)
            throw err
          }
          reasons.push(`${client.baseUrl}: ${failure.reason}`)
          this.advance(i, failure.reason)
          if (failure.maybeProcessed && !opts.idempotent) throw new AmbiguousRequestError(method, path, client.baseUrl, failure.reason)
        }
      }
      const wait = opts.untilAnswered === true ? backoffDelay(round, this.backoff) : null
      if (this.downSince === null) {
        this.downSince = Date.now()
        this.emit('down', { reasons, retryInMs: wait })
      }
      if (wait === null) throw new AllNodesDownError(reasons)
      const signal = opts.signal === undefined ? this.closed.signal : AbortSignal.any([opts.signal, this.closed.signal])
      await sleep(wait, signal)
      if (signal.aborted) throw new FailoverAbortedError(`stopped while waiting for a node (${reasons.join('; ')})`)
    }
  }

  /** Ends every retry loop (they throw FailoverAbortedError) and closes pooled connections. */
  close (): void {
    this.closed.abort()
    this.transport.close()
  }

  private advance (from: number, reason: string): void {
    // Another request may have moved on already; only the first failure of a node switches.
    if (this.index !== from) return
    this.index = (from + 1) % this.clients.length
    if (this.clients.length > 1) this.emit('switched', { from: this.urls[from] ?? '', to: this.current, reason })
  }

  private noteAnswer (url: string): void {
    if (this.downSince === null) return
    const downForMs = Date.now() - this.downSince
    this.downSince = null
    this.emit('back', { url, downForMs })
  }
}
