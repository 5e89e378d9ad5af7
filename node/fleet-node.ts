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
import { keepaliveFor, Replicator, topicsFor } from './net/replicator.js'
import { Libp2pNetwork } from './net/libp2p-network.js'
import type { AgentBeat } from '../crdt/wire.js'
import type { PeerInfo } from './net/peer-table.js'
import { createHttpServer } from './http/server.js'
import type { TlsFiles } from './http/tls.js'
import type { ApiContext } from './http/context.js'
import { healthRoutes } from './http/routes/health.js'
import { peerRoutes } from './http/routes/peers.js'
import { taskRoutes } from './http/routes/tasks.js'
import { createServices } from './services/index.js'
import { Coordinator } from './coord/coordinator.js'
import { DEFAULT_COORDINATION, type CoordinationSettings } from './coord/settings.js'
import { planRoutes } from './http/routes/plan.js'
import { agentRoutes } from './http/routes/agents.js'
import { assignmentRoutes } from './http/routes/assignments.js'
import { evidenceRoutes } from './http/routes/evidence.js'
import { progressRoutes } from './http/routes/progress.js'
import { analyticsRoutes } from './http/routes/analytics.js'
import { mergeQueueRoutes } from './http/routes/merge-queue.js'
import { documentRoutes } from './http/routes/document.js'
import { NodeWork, type WorkInit } from './work.js'
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

export interface FleetNodeInit {
  dataDir: string
  listen: string[]
  bootstrap: BootstrapPeer[]
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
    private readonly dialer: PeerDialer,
    private readonly coordinator: Coordinator,
    readonly alerts: AlertService,
    readonly work: NodeWork | null,
    private readonly http: FastifyInstance,
    readonly httpUrl: string,
    private readonly log: Logger,
    private readonly watchdog: EventLoopWatchdog
  ) {}

  /** Starts a node; a failure caused by the environment is a StartupError saying what to fix. */
  static async start (init: FleetNodeInit): Promise<FleetNode> {
    try {
      return await FleetNode.startParts(init)
    } catch (err) {
      throw explainStartFailure(err, { dataDir: init.dataDir, listen: init.listen, http: init.http, ...(init.work === undefined ? {} : { repo: init.work.repo }) }) ?? err
    }
  }

  private static async startParts (init: FleetNodeInit): Promise<FleetNode> {
    const log = init.logger
    await mkdir(init.dataDir, { recursive: true })
    const privateKey = await loadOrCreateIdentity(init.dataDir)
    const storage = new LevelChunkStore({ path: join(init.dataDir, 'db'), sync: init.fsync })
    const store = await DocStore.open({ storage, logger: log.child({ c: 'store' }) })
    const topics = topicsFor(init.cluster)
    let libp2p: FleetLibp2p
    try {
      libp2p = await createFleetLibp2p({
        privateKey,
        listen: init.listen,
        topics: [topics.changes, topics.presence],
        ...(init.swarmKey === undefined ? {} : { swarmKey: init.swarmKey }),
        ...(init.allowPeers === undefined ? {} : { allowPeers: init.allowPeers })
      })
    } catch (err) {
      await store.close()
      throw err
    }
    const peerId = libp2p.peerId.toString()
    let httpUrl = ''
    const base: CoordinationSettings = { ...DEFAULT_COORDINATION, ...init.coordination }
    // A (re)started node claims nothing for two presence periods (AssignmentService.caughtUp):
    // presence is a keepalive now, so the grace follows its period (6 s by default, never under 2 s).
    const settings: CoordinationSettings = { ...base, joinGraceMs: init.coordination?.joinGraceMs ?? Math.max(base.joinGraceMs, 2 * keepaliveFor(base.livenessMs)) }
    // Presence announcements carry this node's agent heartbeats (set once services exist).
    let beats: () => AgentBeat[] = () => []
    const replicator = new Replicator({
      network: new Libp2pNetwork({ libp2p, logger: log.child({ c: 'network' }) }),
      store,
      logger: log.child({ c: 'replicator' }),
      cluster: init.cluster,
      livenessMs: settings.livenessMs,
      ...(init.allowPeers === undefined ? {} : { allowPeer: (id: string) => (init.allowPeers as string[]).includes(id) }),
      presence: () => ({ http: httpUrl, beats: beats(), merger: init.work !== undefined })
    })
    const dialer = new PeerDialer({ libp2p, logger: log.child({ c: 'dialer' }), bootstrap: init.bootstrap })
    replicator.on('announce', (frame) => { dialer.learn(frame.node, frame.addrs) })

    const livePeers = (): PeerInfo[] => replicator.peers.live(Date.now(), settings.livenessMs)
    const services = createServices({ store, nodeId: peerId, settings, livePeers })
    beats = () => services.agents.localBeats()
    const events = new EventBus()
    wireEvents({ store, replicator, events })
    const metrics = new FleetMetrics({ events, sources: nodeMetricsSources({ store, replicator, taskCounts: () => services.projection.get().tasks.counts.byStatus, mergeQueueCounts: () => services.mergeQueue.countsByState() }) })
    const coordinator = new Coordinator({ selfId: peerId, store, replicator, services, events, settings, logger: log.child({ c: 'coord' }), merger: init.work !== undefined, livePeers,
      counters: { claimConfirmed: () => { metrics.claimsConfirmed.inc() }, claimLost: () => { metrics.claimsLost.inc() }, leaseExpired: () => { metrics.leaseExpiries.inc() } } })
    metrics.addSources(coordinationMetricsSources({ selfId: peerId, leader: coordinator.leader, agents: services.agents }))
    const watchdog = new EventLoopWatchdog({ logger: log.child({ c: 'watchdog' }), onStall: () => { metrics.eventLoopStalls.inc() } })
    watchdog.start()
    const work = init.work === undefined
      ? null
      : new NodeWork({ work: init.work, dataDir: init.dataDir, selfId: peerId, store, services, leader: coordinator.leader, isLive: (id) => livePeers().some(p => p.nodeId === id), leaseMs: settings.leaseMs, logger: log,
        onMergeOutcome: (o) => { (o === 'merged' ? metrics.mergesDone : metrics.mergesEjected).inc() } })
    const alerting = createAlerting({
      ...init.alerts,
      selfId: peerId,
      store,
      services,
      settings,
      selfMerger: init.work !== undefined,
      peers: () => replicator.peers.all(),
      livePeers,
      leader: coordinator.leader,
      events,
      registry: metrics.registry,
      logger: log.child({ c: 'alerts' }),
      externalUrl: () => httpUrl
    })
    const ctx: ApiContext = {
      peerId,
      multiaddrs: () => libp2p.getMultiaddrs().map(a => a.toString()),
      store,
      replicator,
      ...services,
      events,
      leader: coordinator.leader,
      dialStatus: () => dialer.status(),
      startedAt: Date.now(),
      settings
    }
    const http = createHttpServer({
      logger: log.child({ c: 'http' }),
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
    }, ctx, [metricsRoutes(metrics), healthRoutes, peerRoutes, taskRoutes, planRoutes, agentRoutes, assignmentRoutes, evidenceRoutes, progressRoutes, analyticsRoutes, mergeQueueRoutes, documentRoutes, eventRoutes, wsRoutes(), dashboardRoutes(), alertRoutes(alerting)])
    try {
      await replicator.start()
      dialer.start()
      coordinator.start()
      alerting.start()
      await work?.start()
      await http.listen({ host: init.http.host, port: init.http.port })
    } catch (err) {
      watchdog.stop()
      await work?.stop()
      alerting.stop()
      coordinator.stop()
      dialer.stop()
      await replicator.stop()
      await libp2p.stop()
      await store.close()
      throw err
    }
    const addr = http.server.address()
    const port = typeof addr === 'object' && addr !== null ? addr.port : init.http.port
    const host = init.http.host.includes(':') ? `[${init.http.host}]` : init.http.host
    httpUrl = `${init.tls === undefined ? 'http' : 'https'}://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`
    return new FleetNode(peerId, libp2p, store, replicator, dialer, coordinator, alerting, work, http, httpUrl, log, watchdog)
  }

  multiaddrs (): string[] {
    return this.libp2p.getMultiaddrs().map(a => a.toString())
  }

  /** The HTTP routes, as Fastify prints them (one per line, nested by path): for tools and fuzzers. */
  httpRoutes (): string {
    return this.http.printRoutes({ commonPrefix: false })
  }

  /** Stops accepting requests, leaves the network, then flushes the replica to disk. */
  async stop (): Promise<void> {
    this.log.info('stopping')
    this.watchdog.stop()
    await this.http.close()
    // Agents give their tasks back (document writes) before the store closes.
    await this.work?.stop()
    this.alerts.stop()
    this.coordinator.stop()
    this.dialer.stop()
    await this.replicator.stop()
    await this.libp2p.stop()
    await this.store.close()
  }
}
