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
import { createHttpServer } from './http/server.js'
import type { ApiContext } from './http/context.js'
import { healthRoutes } from './http/routes/health.js'
import { peerRoutes } from './http/routes/peers.js'
import { taskRoutes } from './http/routes/tasks.js'
import { TaskService } from './services/tasks.js'
import { PlanService } from './services/plans.js'
import { ProgressService } from './services/progress.js'
import { ProjectionCache } from '../crdt/projection.js'
import { planRoutes } from './http/routes/plan.js'
import { eventRoutes } from './http/routes/events.js'
import { EventBus } from './events/bus.js'
import { wireEvents } from './events/wire-events.js'

export interface FleetNodeInit {
  dataDir: string
  listen: string[]
  bootstrap: BootstrapPeer[]
  http: { host: string, port: number }
  cluster: string
  logger: Logger
  swarmKey?: Uint8Array
  /** fsync each group commit (see LevelChunkStoreInit.sync). */
  fsync?: boolean
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
    private readonly http: FastifyInstance,
    readonly httpUrl: string,
    private readonly log: Logger
  ) {}

  static async start (init: FleetNodeInit): Promise<FleetNode> {
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
        ...(init.swarmKey === undefined ? {} : { swarmKey: init.swarmKey })
      })
    } catch (err) {
      await store.close()
      throw err
    }
    const peerId = libp2p.peerId.toString()
    let httpUrl = ''
    const replicator = new Replicator({
      libp2p,
      store,
      logger: log.child({ c: 'replicator' }),
      cluster: init.cluster,
      presence: () => ({ http: httpUrl, beats: [] })
    })
    const dialer = new PeerDialer({ libp2p, logger: log.child({ c: 'dialer' }), bootstrap: init.bootstrap })
    replicator.on('announce', (frame) => { dialer.learn(frame.node, frame.addrs) })

    const projection = new ProjectionCache(() => store.doc)
    const tasks = new TaskService({ store, projection })
    const plans = new PlanService({ store, projection })
    const progress = new ProgressService({ store, projection })
    const events = new EventBus()
    wireEvents({ store, replicator, events })
    const ctx: ApiContext = {
      peerId,
      multiaddrs: () => libp2p.getMultiaddrs().map(a => a.toString()),
      store,
      replicator,
      tasks,
      events,
      plans,
      progress,
      startedAt: Date.now()
    }
    const http = createHttpServer({ logger: log.child({ c: 'http' }) }, ctx, [healthRoutes, peerRoutes, taskRoutes, planRoutes, eventRoutes])
    try {
      await replicator.start()
      dialer.start()
      await http.listen({ host: init.http.host, port: init.http.port })
    } catch (err) {
      dialer.stop()
      await replicator.stop()
      await libp2p.stop()
      await store.close()
      throw err
    }
    const addr = http.server.address()
    const port = typeof addr === 'object' && addr !== null ? addr.port : init.http.port
    const host = init.http.host.includes(':') ? `[${init.http.host}]` : init.http.host
    httpUrl = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`
    return new FleetNode(peerId, libp2p, store, replicator, dialer, http, httpUrl, log)
  }

  multiaddrs (): string[] {
    return this.libp2p.getMultiaddrs().map(a => a.toString())
  }

  /** Stops accepting requests, leaves the network, then flushes the replica to disk. */
  async stop (): Promise<void> {
    this.log.info('stopping')
    await this.http.close()
    this.dialer.stop()
    await this.replicator.stop()
    await this.libp2p.stop()
    await this.store.close()
  }
}
