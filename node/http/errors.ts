import { DomainError, domainCodeOf, type DomainErrorCode } from '../../crdt/errors.js'

/**
 * An error that only exists in HTTP (authentication, authorization): its status and the
 * `{error, details}` body it becomes. Everything else the services throw is a domain error
 * (crdt/errors.ts), turned into a status by DOMAIN_ERROR_STATUS below.
 */
export class HttpError extends Error {
  override name = 'HttpError'
  constructor (readonly status: number, message: string, readonly details: unknown = null) {
    super(message)
  }
}

/**
 * The one table from domain error codes to HTTP statuses. Typed over every code, so a new code
 * without a status does not compile.
 */
export const DOMAIN_ERROR_STATUS: Readonly<Record<DomainErrorCode, number>> = {
  NOT_FOUND: 404,
  CONFLICT: 409,
  CLAIM_REFUSED: 409,
  // The API's clients (HttpCoordinator) read details.state of a 409 as "fenced".
  FENCED: 409,
  NOT_CAUGHT_UP: 503,
  EVIDENCE_TOO_LARGE: 413,
  INVALID_INPUT: 400,
  AGENT_RUNNING: 409,
  AGENT_REPLACED: 409,
  // The replica cannot be written (disk full): try again later, the node recovers by itself.
  STORAGE_UNAVAILABLE: 503
}

/** What a 503 for a storage failure tells clients to wait before retrying (the store retries its disk writes within 2 s). */
export const RETRY_AFTER_SECONDS = 2
/** Codes whose reply tells the client when to retry. */
const RETRY_AFTER: Partial<Record<DomainErrorCode, number>> = { STORAGE_UNAVAILABLE: RETRY_AFTER_SECONDS }

export interface ErrorReply {
  status: number
  body: { error: string, details: unknown }
  /** Seconds for a `retry-after` header, when the client should come back later. */
  retryAfter?: number
  /** A failure of the node itself (500): worth a log line, unlike a client's mistake. */
  internal: boolean
}

/**
 * The reply for any error a request handler threw: HTTP errors as they are, domain errors by the
 * table, Fastify's own 4xx client errors (bad JSON, body too large) with their code, and anything
 * else as a 500 that says nothing of the inside.
 */
export function errorReply (err: unknown): ErrorReply {
  if (err instanceof HttpError) return { status: err.status, body: { error: err.message, details: err.details }, internal: false }
  const code = domainCodeOf(err)
  if (code !== null) {
    const e = err as Error & { details?: unknown }
    // Errors outside crdt/errors.ts that carry a code (StorageUnavailableError) may lack details.
    const details = err instanceof DomainError ? err.details : e.details ?? { code }
    const retryAfter = RETRY_AFTER[code]
    return { status: DOMAIN_ERROR_STATUS[code], body: { error: e.message, details }, ...(retryAfter === undefined ? {} : { retryAfter }), internal: false }
  }
  const e = err as { statusCode?: number, message?: string, code?: string } | null
  if (e !== null && typeof e === 'object' && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, body: { error: e.message ?? 'bad request', details: { code: e.code ?? null } }, internal: false }
  }
  return { status: 500, body: { error: 'internal error', details: null }, internal: true }
}
