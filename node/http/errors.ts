import type { ZodError } from 'zod'

/** An error with the HTTP status and the `{error, details}` body it becomes. */
export class HttpError extends Error {
  override name = 'HttpError'
  constructor (readonly status: number, message: string, readonly details: unknown = null) {
    super(message)
  }
}

export class BadRequestError extends HttpError {
  override name = 'BadRequestError'
  constructor (message: string, details: unknown = null) { super(400, message, details) }
}

export class NotFoundError extends HttpError {
  override name = 'NotFoundError'
  constructor (message: string, details: unknown = null) { super(404, message, details) }
}

export class ConflictError extends HttpError {
  override name = 'ConflictError'
  constructor (message: string, details: unknown = null) { super(409, message, details) }
}

export class UnauthorizedError extends HttpError {
  override name = 'UnauthorizedError'
  constructor (message: string) { super(401, message) }
}

/**
 * Domain errors (a string `code`, optional `details`) and the HTTP status each code becomes.
 * Services throw domain errors; only this table knows about HTTP. (Issue 16 moves the rest here.)
 */
export const DOMAIN_ERROR_STATUS: Readonly<Record<string, number>> = {
  // The replica cannot be written (disk full): try again later, the node recovers by itself.
  STORAGE_UNAVAILABLE: 503
}
/** What a 503 tells clients to wait before retrying (the store retries its disk writes within 2 s). */
export const RETRY_AFTER_SECONDS = 2

export interface DomainErrorReply {
  status: number
  body: { error: string, details: unknown }
}

/** The reply for a domain error in the table, or null for anything else. */
export function domainErrorReply (err: unknown): DomainErrorReply | null {
  if (!(err instanceof Error)) return null
  const code = (err as { code?: unknown }).code
  if (typeof code !== 'string' || !Object.hasOwn(DOMAIN_ERROR_STATUS, code)) return null
  const details = (err as { details?: unknown }).details ?? { code }
  return { status: DOMAIN_ERROR_STATUS[code] ?? 500, body: { error: err.message, details } }
}

export interface IssueDetail {
  path: string
  message: string
}

/** zod issues as `{path, message}` pairs a client can show next to the field. */
export function zodDetails (err: ZodError): IssueDetail[] {
  return err.issues.map((i) => ({ path: i.path.map(String).join('.') || '(body)', message: i.message }))
}
