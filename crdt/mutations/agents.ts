import { own } from '../collections.js'
import { read, readOpt, str, type FleetDoc } from '../schema.js'

/** Writes of agent records: pure functions of (document draft, input, now); time is passed in. */

export interface AgentRegistration {
  id: string
  /** Absent: the id on a new record, unchanged on an existing one. */
  name?: string
  role: string
  /** Absent: none on a new record, unchanged on an existing one. */
  capabilities?: string[]
  /** The node the agent runs on (or talks to). */
  nodeId: string
  /** The `fleet agent` process running it; absent for an agent inside a node. */
  instance?: string
}

/** Registers an agent, or updates it in place (an agent restarted, maybe on another node); writes only what differs. */
export function registerAgent (d: FleetDoc, r: AgentRegistration, now: number): void {
  const have = own(d.agents, r.id)
  const caps = (r.capabilities ?? []).map(str)
  if (have === undefined) {
    d.agents[r.id] = { id: str(r.id), name: str(r.name ?? r.id), role: str(r.role), capabilities: caps, nodeId: str(r.nodeId), registeredAt: now, ...(r.instance === undefined ? {} : { instance: str(r.instance) }) }
    return
  }
  if ((readOpt(have.instance) ?? null) !== (r.instance ?? null)) have.instance = r.instance === undefined ? null : str(r.instance)
  if (r.name !== undefined && read(have.name) !== r.name) have.name = str(r.name)
  if (read(have.role) !== r.role) have.role = str(r.role)
  if (read(have.nodeId) !== r.nodeId) have.nodeId = str(r.nodeId)
  if (r.capabilities !== undefined && have.capabilities.map(read).join() !== r.capabilities.join()) have.capabilities = caps
}

/**
 * Revokes the agent's tokens issued until `now`; returns the cut-off, which only ever moves
 * later (a revocation is never undone by one made with an older clock), or null for an unknown agent.
 */
export function revokeAgentTokens (d: FleetDoc, id: string, now: number): number | null {
  const a = own(d.agents, id)
  if (a === undefined) return null
  const cutoff = Math.max(a.tokensRevokedBefore ?? 0, now)
  a.tokensRevokedBefore = cutoff
  return cutoff
}
