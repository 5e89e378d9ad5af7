import type { Registry } from 'prom-client'
import type { DocStore } from '../../crdt/doc-store.js'
import { read } from '../../crdt/schema.js'
import { DEFAULT_ALERT_THRESHOLDS, type AlertThresholds } from '../../crdt/rules/alerts.js'
import type { LeaderService } from '../coord/leader.js'
import type { CoordinationSettings } from '../coord/settings.js'
import type { EventBus } from '../events/bus.js'
import type { Logger } from '../logger.js'
import type { PeerInfo } from '../net/peer-table.js'
import type { Services } from '../services/index.js'
import { AlertInputs } from './inputs.js'
import { registerAlertMetrics } from './metrics.js'
import type { Receiver } from './receivers.js'
import { AlertService, type AlertServiceInit } from './service.js'

/** What a node is configured with (`--alert-webhook`, `--queue-stuck`; `--agent-dead` is in the coordination settings). */
export interface AlertingInit {
  receivers?: Receiver[]
  queueStuckMs?: number
  /** Overrides for tests (thresholds not set here keep DEFAULT_ALERT_THRESHOLDS). */
  thresholds?: Partial<AlertThresholds>
  tickMs?: number
  delivery?: AlertServiceInit['delivery']
}

export interface AlertingComponents {
  selfId: string
  store: DocStore
  services: Services
  settings: CoordinationSettings
  /** This node is a merger (see README, Glossary). */
  merger: boolean
  peers: () => PeerInfo[]
  livePeers: () => PeerInfo[]
  /** Whether another node is a live member (O(1)). */
  isLive: (nodeId: string) => boolean
  leader: LeaderService
  events: EventBus
  registry: Registry
  logger: Logger
  externalUrl: () => string
}

/** Builds the alerting of one node: inputs over its replica and membership, the service, its metrics. */
export function createAlerting (init: AlertingInit & AlertingComponents): AlertService {
  const { services, settings } = init
  const thresholds: AlertThresholds = {
    ...DEFAULT_ALERT_THRESHOLDS,
    agentDeadMs: settings.heartbeatDeadMs,
    ...(init.queueStuckMs === undefined ? {} : { queueStuckMs: init.queueStuckMs }),
    ...init.thresholds
  }
  const watchSince = Date.now()
  const inputs = new AlertInputs({
    store: init.store,
    watchSince,
    merger: init.merger,
    peers: init.peers,
    livePeers: init.livePeers,
    lastBeat: (id) => services.agents.lastBeat(id),
    heartbeatStaleMs: settings.heartbeatStaleMs,
    heartbeatDeadMs: settings.heartbeatDeadMs,
    livenessMs: settings.livenessMs,
    planStalledMs: thresholds.planStalledMs,
    // From the projection's indexes: held assignments per agent, the first ready task per role. O(agents).
    workCheck: () => {
      const busyAgents = new Set<string>()
      for (const [agent, held] of services.projection.get().assignmentIndex.heldByAgent) if (held.size > 0) busyAgents.add(agent)
      const rolesWithWork = new Set<string>()
      for (const a of Object.values(init.store.doc.agents)) {
        const role = read(a.role)
        if (!rolesWithWork.has(role) && services.tasks.next(role) !== undefined) rolesWithWork.add(role)
      }
      return { busyAgents, rolesWithWork }
    }
  })
  const service = new AlertService({
    selfId: init.selfId,
    store: init.store,
    inputs,
    thresholds,
    receivers: init.receivers ?? [],
    leaderAt: (now) => init.leader.current(now).leader,
    isLive: (id) => id === init.selfId || init.isLive(id),
    events: init.events,
    logger: init.logger,
    externalUrl: init.externalUrl,
    ...(init.tickMs === undefined ? {} : { tickMs: init.tickMs }),
    ...(init.delivery === undefined ? {} : { delivery: init.delivery })
  })
  registerAlertMetrics({ registry: init.registry, service, inputs })
  return service
}
