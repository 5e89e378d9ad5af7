import assert from 'node:assert/strict'
import { agentAccessDenial, type AgentRequest } from '../../../node/http/agent-access.js'
import { AgentTokenError, issueAgentToken, verifyAgentToken } from '../../../node/http/agent-tokens.js'
import { parseApiToken } from '../../../node/http/auth.js'

const CLUSTER = 'cluster-token-0123456789abcdef0123456789'

describe('agent tokens', () => {
  it('carry their agent, verify only under the cluster token that signed them, and are valid bearer tokens', () => {
    const { token, claims } = issueAgentToken(CLUSTER, 'A', 1_000)
    assert.deepEqual(verifyAgentToken(CLUSTER, token), claims)
    assert.equal(claims.agent, 'A')
    assert.equal(parseApiToken(token), token)
    assert.throws(() => verifyAgentToken(CLUSTER + 'x', token), AgentTokenError)
    // Claims swapped in from another token do not match the signature.
    const other = issueAgentToken(CLUSTER, 'B', 1_000).token
    const [p1] = token.split('.').slice(2)
    const forged = other.split('.').slice(0, 2).join('.') + '.' + String(p1) + '.' + String(other.split('.')[3])
    assert.throws(() => verifyAgentToken(CLUSTER, forged), /not signed by this cluster/)
    assert.throws(() => verifyAgentToken(CLUSTER, 'fleet-agent.v1.garbage'), /malformed/)
  })

  it('let an agent act only for itself and its own assignments', () => {
    const owners: Record<string, string> = { a1: 'A', b1: 'B' }
    const owner = (id: string): string | undefined => owners[id]
    const req = (method: string, route: string, params: Record<string, unknown> = {}, body: unknown = {}): AgentRequest => ({ method, route, params, body })
    const allowed: AgentRequest[] = [
      req('GET', '/api/tasks'),
      req('POST', '/api/agents', {}, { id: 'A', role: 'dev' }),
      req('PUT', '/api/agents/:id/heartbeat', { id: 'A' }, { assignmentId: 'a1' }),
      req('PUT', '/api/agents/:id/heartbeat', { id: 'A' }, {}),
      req('POST', '/api/assignments', {}, { taskId: 'T', agentId: 'A' }),
      req('PUT', '/api/assignments/:id/progress', { id: 'a1' }),
      req('PUT', '/api/assignments/:id/release', { id: 'unknown-here' }),
      req('POST', '/api/evidence', {}, { assignmentId: 'a1' }),
      req('POST', '/api/git/merge-queue', {}, { assignmentId: 'a1' })
    ]
    for (const r of allowed) assert.equal(agentAccessDenial('A', r, owner), null, `${r.method} ${r.route}`)
    const denied: AgentRequest[] = [
      req('POST', '/api/agents', {}, { id: 'B', role: 'dev' }),
      req('PUT', '/api/agents/:id/heartbeat', { id: 'B' }),
      req('PUT', '/api/agents/:id/heartbeat', { id: 'A' }, { assignmentId: 'b1' }),
      req('POST', '/api/assignments', {}, { taskId: 'T', agentId: 'B' }),
      req('PUT', '/api/assignments/:id/complete', { id: 'b1' }),
      req('POST', '/api/evidence', {}, { assignmentId: 'b1' }),
      req('POST', '/api/evidence', {}, 'not an object'),
      req('POST', '/api/git/merge-queue', {}, { assignmentId: 'b1' }),
      req('POST', '/api/plan/import'),
      req('PUT', '/api/tasks/:id', { id: 'T' }),
      req('PUT', '/api/git/merge-queue/:id/complete', { id: 'e' }),
      req('POST', '/api/agents/:id/revoke-tokens', { id: 'A' })
    ]
    for (const r of denied) assert.equal(typeof agentAccessDenial('A', r, owner), 'string', `${r.method} ${r.route}`)
  })
})
