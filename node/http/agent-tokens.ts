import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'
import { IdSchema } from '../../plan/schema.js'

/**
 * Scoped agent tokens: `fleet key agent-token NAME` signs `{agent, issuedAt, id}` with a key
 * derived from the cluster's API token, so every node can check one without a lookup, and a
 * token is worth only what its agent may do (see agent-access.ts). Revoked by listing the agent
 * in the document (AgentService.revokeTokens: every token of it issued before then).
 *
 * Form: `fleet-agent.v1.<base64url JSON claims>.<base64url HMAC-SHA256>` (visible ASCII, a valid
 * bearer token).
 */
export const AGENT_TOKEN_PREFIX = 'fleet-agent.v1.'
const KEY_LABEL = 'fleet agent tokens v1'

export const AgentTokenClaims = z.object({
  agent: IdSchema,
  issuedAt: z.number().int().nonnegative(),
  id: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/)
}).strict()
export type AgentTokenClaims = z.infer<typeof AgentTokenClaims>

export class AgentTokenError extends Error {
  override name = 'AgentTokenError'
}

/** The signing key: the cluster token never signs directly, so the two uses cannot be confused. */
function signingKey (clusterToken: string): Buffer {
  return createHmac('sha256', clusterToken).update(KEY_LABEL).digest()
}

function sign (clusterToken: string, payload: string): Buffer {
  return createHmac('sha256', signingKey(clusterToken)).update(AGENT_TOKEN_PREFIX + payload).digest()
}

/** A new token for `agent`, signed with the cluster token. */
export function issueAgentToken (clusterToken: string, agent: string, now = Date.now()): { token: string, claims: AgentTokenClaims } {
  const claims = AgentTokenClaims.parse({ agent, issuedAt: now, id: randomBytes(12).toString('base64url') })
  const payload = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url')
  return { token: `${AGENT_TOKEN_PREFIX}${payload}.${sign(clusterToken, payload).toString('base64url')}`, claims }
}

export function isAgentToken (token: string): boolean {
  return token.startsWith(AGENT_TOKEN_PREFIX)
}

/** The claims of a token signed with this cluster token; AgentTokenError when it is not one. */
export function verifyAgentToken (clusterToken: string, token: string): AgentTokenClaims {
  if (!isAgentToken(token)) throw new AgentTokenError('not an agent token')
  const [payload, mac, ...rest] = token.slice(AGENT_TOKEN_PREFIX.length).split('.')
  if (payload === undefined || mac === undefined || rest.length > 0) throw new AgentTokenError('malformed agent token')
  const expected = sign(clusterToken, payload)
  const given = Buffer.from(mac, 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new AgentTokenError('agent token not signed by this cluster')
  let raw: unknown
  try {
    raw = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  } catch {
    throw new AgentTokenError('malformed agent token')
  }
  const r = AgentTokenClaims.safeParse(raw)
  if (!r.success) throw new AgentTokenError('malformed agent token')
  return r.data
}
