/**
 * What a client holding an agent token may write: only as its own agent. Reads are not acting
 * and follow the read rule of the API. A pure function of the route, the request and who owns
 * an assignment, so it is tested without a server.
 */

export interface AgentRequest {
  method: string
  /** The route pattern, e.g. `/api/assignments/:id/progress`. */
  route: string
  params: Record<string, unknown>
  body: unknown
}

/** The agent an assignment belongs to, or undefined when this node does not know it. */
export type AssignmentOwner = (assignmentId: string) => string | undefined

function field (v: unknown, key: string): unknown {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[key] : undefined
}

/**
 * null when `agent` may make the request; otherwise why not (the 403's message). An assignment
 * this node does not know yet is let through: the route itself refuses it (404/409), so nothing
 * is written for another agent either way.
 */
export function agentAccessDenial (agent: string, req: AgentRequest, owner: AssignmentOwner): string | null {
  if (req.method === 'GET' || req.method === 'HEAD') return null
  const self = (v: unknown, what: string): string | null => v === agent ? null : `an agent token for ${agent} cannot act for ${typeof v === 'string' ? `agent ${v}` : `this ${what}`}`
  const owns = (v: unknown): string | null => {
    if (typeof v !== 'string') return `an agent token for ${agent} needs the assignment named`
    const o = owner(v)
    return o === undefined || o === agent ? null : `assignment ${v} belongs to agent ${o}, not ${agent}`
  }
  const key = `${req.method} ${req.route}`
  switch (key) {
    case 'POST /api/agents':
      return self(field(req.body, 'id'), 'agent')
    case 'PUT /api/agents/:id/heartbeat': {
      const a = field(req.body, 'assignmentId')
      return self(req.params.id, 'agent') ?? (a === undefined || a === null ? null : owns(a))
    }
    case 'POST /api/assignments':
      return self(field(req.body, 'agentId'), 'claim')
    case 'PUT /api/assignments/:id/progress':
    case 'PUT /api/assignments/:id/complete':
    case 'PUT /api/assignments/:id/fail':
    case 'PUT /api/assignments/:id/release':
      return owns(req.params.id)
    case 'POST /api/evidence':
    case 'POST /api/git/merge-queue':
      return owns(field(req.body, 'assignmentId'))
    default:
      return `an agent token may only register and heartbeat its agent and work on its own assignments, not ${key}`
  }
}
