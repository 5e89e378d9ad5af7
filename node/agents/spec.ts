import { ID_PATTERN, MAX_ID_LENGTH, ROLE_PATTERN } from '../../plan/schema.js'

/** One `--agent NAME:ROLE`: the agent's id (unique in the cluster) and the role whose tasks it takes. */
export interface AgentSpec {
  name: string
  role: string
}

/** A malformed `--agent` value. */
export class AgentSpecError extends Error {
  override name = 'AgentSpecError'
  constructor (readonly value: string, reason: string) {
    super(`"${value}" is not NAME:ROLE: ${reason}`)
  }
}

/**
 * Parses `NAME:ROLE`, e.g. `A:schemas`. NAME follows the plan's id rules (it becomes the agent id
 * and part of a worktree path), ROLE the plan's role rules (lowercase identifier).
 */
export function parseAgentSpec (value: string): AgentSpec {
  const i = value.indexOf(':')
  if (i < 0) throw new AgentSpecError(value, 'missing ":" (e.g. A:backend)')
  const name = value.slice(0, i).trim()
  const role = value.slice(i + 1).trim()
  if (name === '' || name.length > MAX_ID_LENGTH || !ID_PATTERN.test(name)) {
    throw new AgentSpecError(value, `NAME must be 1-${MAX_ID_LENGTH} letters, digits, ".", "_" or "-"`)
  }
  if (role === '' || role.length > MAX_ID_LENGTH || !ROLE_PATTERN.test(role)) {
    throw new AgentSpecError(value, 'ROLE must be a lowercase identifier like "backend"')
  }
  return { name, role }
}

/** Parses every `--agent`; agent names must be distinct. */
export function parseAgentSpecs (values: readonly string[]): AgentSpec[] {
  const specs = values.map(parseAgentSpec)
  const seen = new Set<string>()
  for (const s of specs) {
    if (seen.has(s.name)) throw new AgentSpecError(`${s.name}:${s.role}`, `agent name "${s.name}" given twice`)
    seen.add(s.name)
  }
  return specs
}

const AGENT_NAMES = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'

/** One agent per role, named A, B, C, ... (then A26, B27, ...): the demo's crew for a plan. */
export function agentsForRoles (roles: readonly string[]): AgentSpec[] {
  return roles.map((role, i) => ({ name: `${AGENT_NAMES[i % AGENT_NAMES.length] ?? 'X'}${i >= AGENT_NAMES.length ? String(i) : ''}`, role }))
}
