import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { readSecretFile, SecretFileError } from '../../bootstrap/secret-file.js'
import { isIP } from 'node:net'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { HttpError } from './errors.js'
import { cookieValue, DEFAULT_SESSION_TTL_MS, issueSession, SESSION_COOKIE, sessionCookie, sessionValid } from './sessions.js'
import { parseInput } from './validate.js'
import { agentAccessDenial, type AssignmentOwner } from './agent-access.js'
import { AgentTokenError, isAgentToken, verifyAgentToken, type AgentTokenClaims } from './agent-tokens.js'

/**
 * Bearer-token protection for the HTTP API. The API listens on loopback by default, where the
 * machine's own users are trusted; bound to any other address, writes need the token (and, on
 * request, reads too). Probes keep working: GET /health stays open.
 */

/** Methods that change something. Everything else is a read. */
export const WRITE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'DELETE', 'PATCH'])
/** Routes never protected (load balancers and monitors probe them without credentials). */
export const DEFAULT_OPEN_ROUTES: readonly string[] = ['/health']
/** Shorter tokens are guessable; `fleet key token` makes 43-character ones. */
export const MIN_API_TOKEN_LENGTH = 16
export const API_TOKEN_BYTES = 32

export class ApiTokenError extends Error {
  override name = 'ApiTokenError'
}

/** A new random token (base64url, header-safe). */
export function generateApiToken (): string {
  return randomBytes(API_TOKEN_BYTES).toString('base64url')
}

/** Checks a token's text: one line of visible ASCII (it travels in a header), long enough. */
export function parseApiToken (text: string, source = 'API token'): string {
  const token = text.replace(/^\uFEFF/, '').trim()
  if (token === '') throw new ApiTokenError(`${source} is empty; create a token with "fleet key token"`)
  if (/[\r\n]/.test(token)) throw new ApiTokenError(`${source} must be a single line`)
  if (!/^[\x21-\x7e]+$/.test(token)) throw new ApiTokenError(`${source} may only contain visible ASCII characters (no spaces)`)
  if (token.length < MIN_API_TOKEN_LENGTH) throw new ApiTokenError(`${source} is ${token.length} characters; use at least ${MIN_API_TOKEN_LENGTH} (e.g. "fleet key token")`)
  return token
}

export function readApiTokenFile (path: string): string {
  let text: string
  try {
    // A file that exists but cannot be read is a SecretFileError (exit 1, not a bad option).
    text = readSecretFile(path, 'API token file', '--api-token-file')
  } catch (err) {
    if (err instanceof SecretFileError) throw err
    throw new ApiTokenError(`cannot read API token file ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`)
  }
  return parseApiToken(text, `API token file ${path}`)
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost (host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  if (h === 'localhost') return true
  if (isIP(h) === 4) return h.startsWith('127.')
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h)
  return false
}

export interface HttpAuthInit {
  /** The bearer token clients must present. */
  token: string
  /** Also require the token for reads (except openRoutes). Default false: only writes. */
  protectReads?: boolean
  /** Route patterns left open to everyone. Default DEFAULT_OPEN_ROUTES. */
  openRoutes?: readonly string[]
  /** Accept agent tokens signed with `token` (see agent-tokens.ts); default: only the cluster token. */
  agentTokens?: AgentTokenAccess
}

/** What the node tells the auth hook about agents, for agent tokens. */
export interface AgentTokenAccess {
  assignmentOwner: AssignmentOwner
  /** Whether the token was revoked (listed in the document or a deny file). */
  revoked: (claims: AgentTokenClaims) => boolean
}

/** The dashboard's login: GET (state), POST {token} (log in), DELETE (log out). */
export const SESSION_ROUTE = '/api/session'

const LoginBody = z.object({ token: z.string().min(1).max(4096) }).strict()

function hasSession (req: FastifyRequest, clusterToken: string): boolean {
  const v = cookieValue(req.headers.cookie, SESSION_COOKIE)
  return v !== null && sessionValid(clusterToken, v)
}

/**
 * The login the dashboard shows under --auth-reads: the cluster token, once, for an HttpOnly,
 * SameSite=Strict session cookie (see sessions.ts). Agent tokens do not log in.
 */
function installSessionRoutes (app: FastifyInstance, token: string, protectReads: boolean, expected: Buffer): void {
  const secure = (req: FastifyRequest): boolean => req.protocol === 'https'
  app.get(SESSION_ROUTE, async (req) => {
    const bearer = bearerToken(req)
    return { required: protectReads, authenticated: (bearer !== null && tokenMatches(expected, bearer)) || hasSession(req, token) }
  })
  app.post(SESSION_ROUTE, async (req, reply) => {
    const { token: presented } = parseInput(LoginBody, req.body, 'body')
    if (!tokenMatches(expected, presented)) throw new HttpError(401, 'unauthorized: wrong token', { scheme: 'session' })
    const s = issueSession(token)
    return await reply.header('set-cookie', sessionCookie(s.value, { maxAgeS: Math.floor(DEFAULT_SESSION_TTL_MS / 1000), secure: secure(req) })).send({ authenticated: true, expiresAt: s.expiresAt })
  })
  app.delete(SESSION_ROUTE, async (req, reply) => await reply.header('set-cookie', sessionCookie('', { maxAgeS: 0, secure: secure(req) })).send({ authenticated: false }))
}

/** Without a token every read is open: the dashboard's session check says so (no login). */
export function installOpenSession (app: FastifyInstance): void {
  app.get(SESSION_ROUTE, async () => ({ required: false, authenticated: true }))
}

/** Who made a request: the cluster token (full rights) or an agent token (its agent only). */
export type Principal = { kind: 'cluster' } | { kind: 'agent', claims: AgentTokenClaims }

function digest (s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest()
}

/**
 * Compares a presented token with the expected one in constant time: both are hashed first, so
 * neither the content nor the length of the real token leaks through response timing.
 */
export function tokenMatches (expectedDigest: Buffer, presented: string): boolean {
  return timingSafeEqual(expectedDigest, digest(presented))
}

/** The token in an `Authorization: Bearer <token>` header, or null. */
export function bearerToken (req: FastifyRequest): string | null {
  const h = req.headers.authorization
  if (typeof h !== 'string') return null
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(h)
  return m === null ? null : (m[1] ?? null)
}

/**
 * Adds the check as an onRequest hook, so an unauthenticated request is refused before its
 * body is read or parsed. Refusals are 401 `{error, details}` with a WWW-Authenticate header.
 */
export function installHttpAuth (app: FastifyInstance, init: HttpAuthInit): void {
  const expected = digest(parseApiToken(init.token))
  const protectReads = init.protectReads ?? false
  const open = new Set(init.openRoutes ?? DEFAULT_OPEN_ROUTES)
  const required = protectReads ? 'every request except ' + [...open].join(', ') : 'writes (POST, PUT, DELETE, PATCH)'

  const principals = new WeakMap<FastifyRequest, Principal>()
  const refuse = (reply: FastifyReply, reason: string): never => {
    void reply.header('www-authenticate', 'Bearer realm="fleet"')
    throw new HttpError(401, `unauthorized: ${reason}`, { scheme: 'Bearer', required })
  }

  open.add(SESSION_ROUTE)
  installSessionRoutes(app, init.token, protectReads, expected)

  app.addHook('onRequest', async (req, reply) => {
    const isWrite = WRITE_METHODS.has(req.method)
    const route = req.routeOptions.url ?? ''
    // Logging in and out carries (or drops) the token itself.
    if (route === SESSION_ROUTE) return
    if (!isWrite && (!protectReads || open.has(route))) return
    const presented = bearerToken(req)
    // A dashboard session (cookie) is good for reads only.
    if (presented === null && !isWrite && hasSession(req, init.token)) return
    if (presented === null) refuse(reply, req.headers.authorization === undefined ? 'missing Authorization header' : 'Authorization header is not "Bearer <token>"')
    const token = presented as string
    if (tokenMatches(expected, token)) return
    if (init.agentTokens === undefined || !isAgentToken(token)) refuse(reply, 'wrong token')
    let claims: AgentTokenClaims
    try {
      claims = verifyAgentToken(init.token, token)
    } catch (err) {
      if (err instanceof AgentTokenError) refuse(reply, err.message)
      throw err
    }
    if ((init.agentTokens as AgentTokenAccess).revoked(claims)) refuse(reply, `agent token ${claims.id} of agent ${claims.agent} was revoked`)
    principals.set(req, { kind: 'agent', claims })
  })

  // After the body is parsed: what an agent token may do depends on what the request names.
  app.addHook('preHandler', async (req) => {
    const p = principals.get(req)
    if (p?.kind !== 'agent') return
    const denial = agentAccessDenial(p.claims.agent, { method: req.method, route: req.routeOptions.url ?? '', params: (req.params ?? {}) as Record<string, unknown>, body: req.body }, (id) => init.agentTokens?.assignmentOwner(id))
    if (denial !== null) throw new HttpError(403, `forbidden: ${denial}`, { agent: p.claims.agent, route: `${req.method} ${req.routeOptions.url ?? req.url}` })
  })
}
