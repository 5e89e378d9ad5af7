import type { DocStore } from '../../crdt/doc-store.js'
import type { AnnounceFrame } from '../../crdt/wire.js'
import type { EventBus } from '../events/bus.js'
import type { Logger } from '../logger.js'
import type { Replicator } from '../net/replicator.js'
import type { Services } from '../services/index.js'
import { LeaderService, type LeaderState } from './leader.js'
import { LeaseMonitor } from './leases.js'
import { ClaimSettler } from './settler.js'
import type { CoordinationCounters, CoordinationSettings } from './settings.js'

export interface CoordinatorInit {
  selfId: string
  store: DocStore
  replicator: Replicator
  services: Services
  events: EventBus
  settings: CoordinationSettings
  logger: Logger
  /** This node has a git clone and may lead the merge queue. */
  merger: boolean
  counters?: CoordinationCounters
  /** The other live nodes with the heads each last announced. */
  livePeers: () => Array<{ nodeId: string, heads: string[], merger: boolean }>
  /** Whether another node is a live member (O(1)). */
  isLive: (nodeId: string) => boolean
}

/**
 * Runs this node's share of coordination: confirming its claims, expiring dead leases, and
 * tracking the rotating leader. Event-driven where it matters for latency (claims), and a
 * periodic tick for time-based rules (leases, terms).
 */
export class Coordinator {
  readonly leader: LeaderService
  private readonly settler: ClaimSettler
  private readonly leases: LeaseMonitor
  private timer: NodeJS.Timeout | null = null

  constructor (private readonly init: CoordinatorInit) {
    const { services, settings, store, livePeers } = init
    this.leader = new LeaderService({ selfId: init.selfId, settings, merger: init.merger, livePeers })
    this.settler = new ClaimSettler({ store, projection: services.projection, assignments: services.assignments, logger: init.logger.child({ c: 'settler' }), livePeers, ...(init.counters === undefined ? {} : { counters: init.counters }) })
    this.leases = new LeaseMonitor({ selfId: init.selfId, isLive: init.isLive, projection: services.projection, agents: services.agents, assignments: services.assignments, settings, logger: init.logger.child({ c: 'leases' }), startedAt: Date.now(), ...(init.counters === undefined ? {} : { counters: init.counters }) })
  }

  start (): void {
    const { store, replicator } = this.init
    this.leader.on('change', this.onLeader)
    store.on('change', this.onChange)
    replicator.on('peer:heads', this.onChange)
    replicator.on('announce', this.onAnnounce)
    this.settler.start()
    this.leader.tick()
    this.timer = setInterval(() => { this.tick() }, this.init.settings.tickMs)
  }

  /** Stops the tick and removes every listener start() added. */
  stop (): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    this.leader.off('change', this.onLeader)
    this.init.store.off('change', this.onChange)
    this.init.replicator.off('peer:heads', this.onChange)
    this.init.replicator.off('announce', this.onAnnounce)
  }

  private readonly onChange = (): void => { this.settler.schedule() }

  private readonly onAnnounce = (frame: AnnounceFrame): void => { this.init.services.agents.recordAnnounce(frame) }

  private readonly onLeader = (s: LeaderState): void => {
    this.init.logger.info({ leader: s.leader, term: s.term }, 'leader changed')
    this.init.events.publish('leader', { id: s.leader ?? '', op: 'updated', leader: s.leader, term: s.term })
  }

  private tick (): void {
    try {
      this.leader.tick()
      this.leases.tick()
      this.settler.schedule()
    } catch (err) {
      this.init.logger.error({ err }, 'coordination tick failed')
    }
  }
}
