import { STATUS_CODES, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify'
import type { Logger } from '../logger.js'
import { errorReply } from './errors.js'
import { installHttpAuth, installOpenSession, type HttpAuthInit } from './auth.js'
import type { TlsFiles } from './tls.js'
import { lazySchemaCompilers } from './schema-compilers.js'

/** Bodies are small JSON documents; plans are the largest (a 10,000-task plan is ~3 MB, the largest allowed, 100,000 tasks, ~30 MB). */
export const DEFAULT_BODY_LIMIT = 64 * 1024 * 1024
/** Every other body (a task, an agent, evidence) is far smaller; a tighter limit costs nothing. */
export const DEFAULT_ROUTE_BODY_LIMIT = 1024 * 1024
/** Routes that get the full bodyLimit. */
export const LARGE_BODY_ROUTES: readonly string[] = ['/api/plan/import']

export interface HttpServerInit {
  logger: Logger
  /** Largest body any route accepts (default DEFAULT_BODY_LIMIT); larger is a 413. */
  bodyLimit?: number
  /** Limit for routes that set no bodyLimit of their own and are not in largeBodyRoutes (default DEFAULT_ROUTE_BODY_LIMIT). */
  routeBodyLimit?: number
  /** Route patterns allowed the full bodyLimit (default LARGE_BODY_ROUTES). */
  largeBodyRoutes?: readonly string[]
  /** Bearer-token protection (see auth.ts); default none (the loopback-only setting). */
  auth?: HttpAuthInit
  /** Serve HTTPS with this certificate and key; default plain HTTP. */
  tls?: TlsFiles
}

/**
 * Errors of the HTTP parser (headers over 16 KiB, a malformed request line) happen before
 * there is a request to reply to: answer on the socket in the usual `{error, details}` shape.
 */
function clientErrorResponse (err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
  const body = JSON.stringify({ error: STATUS_CODES[status] ?? 'Bad Request', details: { code: err.code ?? null } })
  if (socket.writable) socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`)
  socket.destroy()
}

/**
 * Calls `then` once the request body has been read and discarded, or at once if it is longer than
 * `limit` (that answer closes the connection, as Fastify's own 413 does).
 */
function drainThen (req: IncomingMessage, limit: number, then: () => void): void {
  if (req.readableEnded || req.complete) { then(); return }
  let seen = 0
  let done = false
  const finish = (): void => {
    if (done) return
    done = true
    req.off('data', onData)
    then()
  }
  const onData = (chunk: Buffer): void => {
    seen += chunk.byteLength
    if (seen > limit) finish()
  }
  req.on('data', onData)
  req.once('end', finish)
  req.once('error', finish)
  req.once('close', finish)
}

/** A route module adds its routes to the server; every module gets the same context. */
export type RouteModule<C> = (app: FastifyInstance, ctx: C) => void

/**
 * Fastify (chosen for its speed, built-in body limits and schema-free JSON handling, so zod stays
 * the one validator). Every failure becomes JSON `{error, details}` with a 4xx unless the bug
 * is ours; unknown paths are 404s in the same shape.
 */
export function createHttpServer<C> (init: HttpServerInit, ctx: C, routes: Array<RouteModule<C>>): FastifyInstance {
  // With `https` Fastify types the instance over https.Server; routes and hooks are the same.
  const app = Fastify({
    ...(init.tls === undefined ? {} : { https: { cert: init.tls.cert, key: init.tls.key } }),
    // Fastify's logger type is pino's base type; ours is a pino logger, so this is the same object.
    loggerInstance: init.logger as unknown as FastifyBaseLogger,
    // Per-request lines would drown the log under load; failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: init.bodyLimit ?? DEFAULT_BODY_LIMIT,
    return503OnClosing: true,
    // Live event streams never end by themselves; a stopping node closes them.
    forceCloseConnections: true,
    // Raised before routing (bad percent-encoding, a path parameter over 100 characters), so before
    // the body was read: read it first (up to the route limit), or a client still sending it sees
    // the connection reset instead of this answer.
    frameworkErrors: (err, req, reply) => {
      drainThen(req.raw, init.routeBodyLimit ?? DEFAULT_ROUTE_BODY_LIMIT, () => {
        // Fastify's generic reply type cannot be narrowed here; the plain reply is the same object.
        void (reply as unknown as FastifyReply).status(err.statusCode ?? 400).send({ error: err.message, details: { code: err.code } })
      })
    },
    clientErrorHandler: clientErrorResponse,
    // zod validates; Fastify's ajv is loaded only if a route ever declares a schema.
    schemaController: { compilersFactory: lazySchemaCompilers() }
  }) as unknown as FastifyInstance

  app.setErrorHandler((err: unknown, req, reply) => {
    const r = errorReply(err)
    if (r.internal) req.log.error({ err }, 'request failed')
    if (r.retryAfter !== undefined) void reply.header('retry-after', String(r.retryAfter))
    void reply.status(r.status).send(r.body)
  })

  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: `no route ${req.method} ${req.url.split('?')[0] ?? ''}`, details: null })
  })

  const routeLimit = init.routeBodyLimit ?? DEFAULT_ROUTE_BODY_LIMIT
  const large = new Set(init.largeBodyRoutes ?? LARGE_BODY_ROUTES)
  app.addHook('onRoute', (route) => {
    if (route.bodyLimit === undefined && !large.has(route.url)) route.bodyLimit = Math.min(routeLimit, init.bodyLimit ?? DEFAULT_BODY_LIMIT)
  })
  if (init.auth !== undefined) installHttpAuth(app, init.auth)
  else installOpenSession(app)

  for (const r of routes) r(app, ctx)
  return app
}
