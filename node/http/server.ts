import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from '../logger.js'
import { HttpError } from './errors.js'

export const DEFAULT_HTTP_HOST = '127.0.0.1'
export const DEFAULT_HTTP_PORT = 3000
/** Bodies are small JSON documents; plans are the largest (a 10,000-task plan is ~3 MB). */
export const DEFAULT_BODY_LIMIT = 16 * 1024 * 1024

export interface HttpServerInit {
  logger: Logger
  bodyLimit?: number
}

/** A route module adds its routes to the server; every module gets the same context. */
export type RouteModule<C> = (app: FastifyInstance, ctx: C) => void

/**
 * Fastify (chosen for its speed, built-in body limits and schema-free JSON handling, so zod stays
 * the one validator). Every failure becomes JSON `{error, details}` with a 4xx unless the bug
 * is ours; unknown paths are 404s in the same shape.
 */
export function createHttpServer<C> (init: HttpServerInit, ctx: C, routes: Array<RouteModule<C>>): FastifyInstance {
  const app = Fastify({
    // Fastify's logger type is pino's base type; ours is a pino logger, so this is the same object.
    loggerInstance: init.logger as unknown as FastifyBaseLogger,
    // Per-request lines would drown the log under load; failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: init.bodyLimit ?? DEFAULT_BODY_LIMIT,
    return503OnClosing: true
  })

  app.setErrorHandler((err: unknown, req, reply) => {
    if (err instanceof HttpError) {
      void reply.status(err.status).send({ error: err.message, details: err.details })
      return
    }
    const e = err as { statusCode?: number, message?: string, code?: string }
    // Fastify's own client errors: bad JSON, body too large, wrong content type.
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      void reply.status(e.statusCode).send({ error: e.message ?? 'bad request', details: { code: e.code ?? null } })
      return
    }
    req.log.error({ err }, 'request failed')
    void reply.status(500).send({ error: 'internal error', details: null })
  })

  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: `no route ${req.method} ${req.url.split('?')[0] ?? ''}`, details: null })
  })

  for (const r of routes) r(app, ctx)
  return app
}
