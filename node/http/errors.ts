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

export interface IssueDetail {
  path: string
  message: string
}

/** zod issues as `{path, message}` pairs a client can show next to the field. */
export function zodDetails (err: ZodError): IssueDetail[] {
  return err.issues.map((i) => ({ path: i.path.map(String).join('.') || '(body)', message: i.message }))
}
