import type { ProjectionCache } from '../../crdt/projection.js'
import { judgesLease, leaseExpired } from '../../crdt/rules/leases.js'
import type { Logger } from '../logger.js'
import type { AgentService } from '../services/agents.js'
import type { AssignmentService } from '../services/assignments.js'
import type { CoordinationCounters, CoordinationSettings } from './settings.js'

export interface LeaseMonitorInit {
  selfId: string
  /** Whether a node is a live member (judgesLease: only the claim's node judges while it is live). */
  isLive: (nodeId: string) => boolean
  projection: ProjectionCache
  agents: AgentService
  assignments: AssignmentService
  settings: CoordinationSettings
  logger: Logger
  /** When this node started: it has not heard every heartbeat yet right after start. */
  startedAt: number
  counters?: CoordinationCounters
}

/**
 * Expires the leases of assignments whose agent stopped heartbeating. Every node runs it (no
 * coordinator) over the claims it judges (judgesLease: its own, and those of nodes that are not
 * live); the expiry is idempotent, so two nodes expiring the same lease agree.
 */
export class LeaseMonitor {
  private readonly expiring = new Set<string>()

  constructor (private readonly init: LeaseMonitorInit) {}

  tick (now = Date.now()): void {
    const s = this.init.settings
    // Right after start this node has not yet received the heartbeats other nodes announce.
    if (now - this.init.startedAt < s.livenessMs) return
    const view = this.init.projection.get()
    // Only assignments that hold a task (an index, not a pass over every assignment ever made).
    for (const id of [...view.assignmentIndex.holding]) {
      const a = view.assignments.get(id)
      if (a === undefined) continue
      if (this.expiring.has(a.id)) continue
      if (!judgesLease(this.init.selfId, a.nodeId, this.init.isLive(a.nodeId))) continue
      const lastHeartbeatAt = this.init.agents.lastBeat(a.agentId)
      if (!leaseExpired({ lastHeartbeatAt, confirmedAt: a.confirmedAt, claimedAt: a.claimedAt, now, leaseMs: s.leaseMs })) continue
      this.expiring.add(a.id)
      const silentFor = Math.round((now - Math.max(lastHeartbeatAt ?? 0, a.confirmedAt ?? 0, a.claimedAt)) / 1000)
      this.init.logger.info({ assignmentId: a.id, taskId: a.taskId, agentId: a.agentId }, 'lease expired')
      this.init.counters?.leaseExpired?.()
      this.init.assignments.expire(a, `lease of agent ${a.agentId} expired (no heartbeat for ${silentFor} s)`)
        .catch((err: unknown) => { this.init.logger.error({ err, assignmentId: a.id }, 'expiring a lease failed') })
        .finally(() => { this.expiring.delete(a.id) })
    }
  }
}
