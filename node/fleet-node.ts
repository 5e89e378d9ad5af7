import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { DocStore } from '../crdt/doc-store.js'
import { LevelChunkStore } from '../crdt/storage/level-chunk-store.js'
import { loadOrCreateIdentity } from '../bootstrap/identity.js'
import { PeerDialer } from '../bootstrap/dialer.js'
import type { BootstrapPeer } from '../bootstrap/peers.js'
import type { Logger } from './logger.js'
import { createFleetLibp2p, type FleetLibp2p } from './net/libp2p.js'
import { Replicator, topicsFor } from './net/replicator.js'
import { Libp2pNetwork } from './net/libp2p-network.js'
import type { AnnounceFrame } from '../crdt/wire.js'
import type { PeerInfo } from './net/peer-table.js'
import { createHttpServer } from './http/server.js'
import type { TlsFiles } from './http/tls.js'
import type { ApiContext } from './http/context.js'
import { healthRoutes } from './http/routes/health.js'
import { peerRoutes } from './http/routes/peers.js'
import { taskRoutes } from './http/routes/tasks.js'
import { createServices } from './services/index.js'
import { Coordinator } from './coord/coordinator.js'
import { DEFAULT_COORDINATION, joinGraceFor, type CoordinationSettings } from './coord/settings.js'
import { planRoutes } from './http/routes/plan.js'
import { agentRoutes } from './http/routes/agents.js'
import { assignmentRoutes } from './http/routes/assignments.js'
import { evidenceRoutes } from './http/routes/evidence.js'
import { progressRoutes } from './http/routes/progress.js'
import { analyticsRoutes } from './http/routes/analytics.js'
import { mergeQueueRoutes } from './http/routes/merge-queue.js'
import { documentRoutes } from './http/routes/document.js'
import type { NodeWork, WorkInit } from './work.js'
import { eventRoutes } from './http/routes/events.js'
import { EventBus } from './events/bus.js'
import { wireEvents } from './events/wire-events.js'
import { FleetMetrics } from './metrics/fleet-metrics.js'
import { coordinationMetricsSources, nodeMetricsSources } from './metrics/node-sources.js'
import { metricsRoutes } from './http/routes/metrics.js'
import { wsRoutes } from './http/routes/ws.js'
import { DASHBOARD_ROUTES, dashboardRoutes } from './dashboard/routes.js'
import { DEFAULT_OPEN_ROUTES } from './http/auth.js'
import { EventLoopWatchdog } from './util/event-loop-watchdog.js'
import { explainStartFailure } from './startup/errors.js'
import { createAlerting, type AlertingInit } from './alerts/index.js'
import type { AlertService } from './alerts/service.js'
import { alertRoutes } from './http/routes/alerts.js'
import { Lifecycle } from './util/lifecycle.js'
import type { LeaderService } from './coord/leader.js'
import type { Services } from './services/index.js'

export interface FleetNodeInit {
  dataDir: string
  listen: string[]
  bootstrap: BootstrapPeer[]
  /** Direct connections dialed and kept, bootstrap peers included (default DEFAULT_MAX_PEERS). */
  maxPeers?: number
  http: { host: string, port: number }
  cluster: string
  logger: Logger
  swarmKey?: Uint8Array
  /** Peer ids allowed to connect (see FleetLibp2pInit.allowPeers); default: any holder of the swarm key. */
  allowPeers?: string[]
  /** Bearer token the HTTP API requires for writes (see node/http/auth.ts); default none. */
  apiToken?: string
  /** With apiToken: require it for reads too, except GET /health. */
  authReads?: boolean
  /** fsync each group commit (see LevelChunkStoreInit.sync). */
  fsync?: boolean
  /** Lease, attempt, liveness and term timing; default DEFAULT_COORDINATION. */
  coordination?: Partial<CoordinationSettings>
  /** A git clone and agents to run; without it the node only replicates and serves the API. */
  work?: WorkInit
  /** Alert receivers and thresholds (node/alerts); default: no receivers, default thresholds. */
  alerts?: AlertingInit
  /** Serve the API and dashboard over HTTPS (--tls-cert, --tls-key). */
  tls?: TlsFiles
}

/** What the HTTP server is built over. */
interface HttpParts {
  peerId: string
  libp2p: FleetLibp2p
  store: DocStore
  replicator: Replicator
  services: Services
  events: EventBus
  leader: LeaderService
  dialer: PeerDialer
  settings: CoordinationSettings
  metrics: FleetMetrics
  alerting: AlertService
}

/**
 * Composes one node: identity, storage, replica, libp2p, replication, dialer, HTTP. The
 * document is loaded from disk before the node joins, and on stop everything is flushed.
 */
export class FleetNode {
  private constructor (
    readonly peerId: string,
    readonly libp2p: FleetLibp2p,
    readonly store: DocStore,
    readonly replicator: Replicator,
    readonly alerts: AlertService,
    readonly work: NodeWork | null,
    private readonly http: FastifyInstance,
    readonly httpUrl: string,
    private readonly log: Logger,
    private readonly parts: Lifecycle
  ) {}

  /** Starts a node; a failure caused by the environment is a StartupError saying what to fix. */
  static async start (init: FleetNodeInit): Promise<FleetNode> {
    const parts = new Lifecycle(init.logger.child({ c: 'lifecycle' }))
    try {
      return await FleetNode.startParts(init, parts)
    } catch (err) {
      // Whatever started (the store, libp2p, loops) stops again: a failed start leaves nothing open.
      await parts.stop().catch(() => {})
      throw explainStartFailure(err, { dataDir: init.dataDir, listen: init.listen, http: init.http, ...(init.work === undefined ? {} : { repo: init.work.repo }) }) ?? err
    }
  }

  /**
   * Builds the parts and starts them in order through `parts` (which stops them in reverse): the
   * store and libp2p first (they are running once created), the HTTP server last. Long because it
   * is the composition root: every part is created here and handed what it needs.
   */
  private static async startParts (init: FleetNodeInit, parts: Lifecycle): Promise<FleetNode> {
    const log = init.logger
    await mkdir(init.dataDir, { recursive: true })
    const privateKey = await loadOrCreateIdentity(init.dataDir)
    const storage = new LevelChunkStore({ path: join(init.dataDir, 'db'), sync: init.fsync })
    const store = await DocStore.open({ storage, logger: log.child({ c: 'store' }) })
    await parts.start({ name: 'store', stop: async () => { await store.close() } })
    const topics = topicsFor(init.cluster)
    const libp2p = await createFleetLibp2p({
      privateKey,
      listen: init.listen,
      topics: [topics.changes, topics.presence],
      ...(init.swarmKey === undefined ? {} : { swarmKey: init.swarmKey }),
      ...(init.allowPeers === undefined ? {} : { allowPeers: init.allowPeers })
    })
    await parts.start({ name: 'libp2p', stop: async () => { await libp2p.stop() } })
    const peerId = libp2p.peerId.toString()
    const base: CoordinationSettings = { ...DEFAULT_COORDINATION, ...init.coordination }
    const settings: CoordinationSettings = { ...base, joinGraceMs: init.coordination?.joinGraceMs ?? joinGraceFor(base) }
    // Known once the server listens (port 0 picks one); announced to peers and put in alert links.
    let httpUrl = ''
    const replicator = new Replicator({
      network: new Libp2pNetwork({ libp2p, logger: log.child({ c: 'network' }) }),
      store,
      logger: log.child({ c: 'replicator' }),
      cluster: init.cluster,
      livenessMs: settings.livenessMs,
      ...(init.allowPeers === undefined ? {} : { allowPeer: (id: string) => (init.allowPeers as string[]).includes(id) }),
      // Presence announcements carry this node's agent heartbeats; called only once started, after services exist.
      presence: () => ({ http: httpUrl, beats: services.agents.localBeats(), merger: init.work !== undefined })
    })
    const livePeers = (): PeerInfo[] => replicator.peers.live()
    const isLive = (id: string): boolean => replicator.peers.isLive(id)
    // What the dialer may trim needs the peer's live announced neighbours (membership knows them).
    const liveNeighboursOf = (id: string): string[] => (replicator.peers.find(id)?.nbrs ?? []).filter(isLive)
    const dialer = new PeerDialer({ libp2p, logger: log.child({ c: 'dialer' }), bootstrap: init.bootstrap, neighboursOf: liveNeighboursOf, isLive, ...(init.maxPeers === undefined ? {} : { maxPeers: init.maxPeers }) })
    const services = createServices({ store, nodeId: peerId, settings, livePeers })
    const events = new EventBus()
    // Before the metrics, which export its record of the loop's delays (it bumps their stall counter).
    const watchdog = new EventLoopWatchdog({ logger: log.child({ c: 'watchdog' }), onStall: () => { metrics.eventLoopStalls.inc() } })
    const metrics = new FleetMetrics({ events, eventLoopDelay: watchdog.delays, sources: nodeMetricsSources({ store, replicator, taskCounts: () => services.projection.get().tasks.counts.byStatus, mergeQueueCounts: () => services.mergeQueue.countsByState() }) })
    const coordinator = new Coordinator({ selfId: peerId, store, replicator, services, events, settings, logger: log.child({ c: 'coord' }), merger: init.work !== undefined, livePeers, isLive,
      counters: { claimConfirmed: () => { metrics.claimsConfirmed.inc() }, claimLost: () => { metrics.claimsLost.inc() }, leaseExpired: () => { metrics.leaseExpiries.inc() } } })
    metrics.addSources(coordinationMetricsSources({ selfId: peerId, leader: coordinator.leader, agents: services.agents }))
    // Agents and git (simple-git, worktrees, executors) are loaded only for a node given --repo.
    const work = init.work === undefined
      ? null
      : new (await import('./work.js')).NodeWork({ work: init.work, dataDir: init.dataDir, selfId: peerId, store, services, leader: coordinator.leader, isLive, leaseMs: settings.leaseMs, termMs: settings.termMs, logger: log,
        onMergeOutcome: (o) => { (o === 'merged' ? metrics.mergesDone : metrics.mergesEjected).inc() } })
    const alerting = createAlerting({
      ...init.alerts,
      selfId: peerId,
      store,
      services,
      settings,
      merger: init.work !== undefined,
      peers: () => replicator.peers.all(),
      livePeers,
      isLive,
      leader: coordinator.leader,
      events,
      registry: metrics.registry,
      logger: log.child({ c: 'alerts' }),
      externalUrl: () => httpUrl
    })
    const http = FleetNode.httpServer(init, { peerId, libp2p, store, replicator, services, events, leader: coordinator.leader, dialer, settings, metrics, alerting })
    const onAnnounce = (frame: AnnounceFrame): void => { dialer.learn(frame.node, frame.addrs) }
    let unwire = (): void => {}
    await parts.start(
      {
        name: 'listeners',
        start: () => {
          unwire = wireEvents({ store, replicator, events })
          replicator.on('announce', onAnnounce)
        },
        stop: () => {
          unwire()
          replicator.off('announce', onAnnounce)
          metrics.close()
        }
      },
      { name: 'watchdog', start: () => { watchdog.start() }, stop: () => { watchdog.stop() } },
      { name: 'replicator', start: async () => { await replicator.start() }, stop: async () => { await replicator.stop() } },
      { name: 'dialer', start: () => { dialer.start() }, stop: () => { dialer.stop() } },
      { name: 'coordinator', start: () => { coordinator.start() }, stop: () => { coordinator.stop() } },
      { name: 'alerts', start: () => { alerting.start() }, stop: () => { alerting.stop() } },
      // Agents give their tasks back (document writes) on stop, before the store closes.
      ...(work === null ? [] : [{ name: 'work', start: async () => { await work.start() }, stop: async () => { await work.stop() } }]),
      { name: 'http', start: async () => { await http.listen({ host: init.http.host, port: init.http.port }) }, stop: async () => { await http.close() } }
    )
    const addr = http.server.address()
    const port = typeof addr === 'object' && addr !== null ? addr.port : init.http.port
    const host = init.http.host.includes(':') ? `[${init.http.host}]` : init.http.host
    httpUrl = `${init.tls === undefined ? 'http' : 'https'}://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`
    return new FleetNode(peerId, libp2p, store, replicator, alerting, work, http, httpUrl, log, parts)
  }

  /** The HTTP API, dashboard and metrics over the node's parts (not listening yet). */
  private static httpServer (init: FleetNodeInit, p: HttpParts): FastifyInstance {
    const { services } = p
    const ctx: ApiContext = {
      peerId: p.peerId,
      multiaddrs: () => p.libp2p.getMultiaddrs().map(a => a.toString()),
      store: p.store,
      replicator: p.replicator,
      ...services,
      events: p.events,
      leader: p.leader,
      dialStatus: () => p.dialer.status(),
      startedAt: Date.now(),
      settings: p.settings
    }
    return createHttpServer({
      logger: init.logger.child({ c: 'http' }),
      ...(init.tls === undefined ? {} : { tls: init.tls }),
      ...(init.apiToken === undefined
        ? {}
        : {
            auth: {
              token: init.apiToken,
              protectReads: init.authReads ?? false,
              openRoutes: [...DEFAULT_OPEN_ROUTES, ...DASHBOARD_ROUTES],
              agentTokens: {
                assignmentOwner: (id: string) => services.projection.get().assignments.get(id)?.agentId,
                revoked: (c: { agent: string, issuedAt: number }) => services.agents.tokenRevoked(c.agent, c.issuedAt)
              }
            }
          })
    }, ctx, [metricsRoutes(p.metrics), healthRoutes, peerRoutes, taskRoutes, planRoutes, agentRoutes, assignmentRoutes, evidenceRoutes, progressRoutes, analyticsRoutes, mergeQueueRoutes, documentRoutes, eventRoutes, wsRoutes(), dashboardRoutes(), alertRoutes(p.alerting)])
  }

  multiaddrs (): string[] {
    return this.libp2p.getMultiaddrs().map(a => a.toString())
  }

  /** The HTTP routes, as Fastify prints them (one per line, nested by path): for tools and fuzzers. */
  httpRoutes (): string {
    return this.http.printRoutes({ commonPrefix: false })
  }

  /** Stops the parts in reverse start order: HTTP first, agents, loops, network, the store last (flushed). */
  async stop (): Promise<void> {
    this.log.info('stopping')
    await this.parts.stop()
  }
}
