import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { EventBus, LiveEvent } from '../events/bus.js'
import type { ReplicationStats } from '../net/replicator.js'
import { eventLoopDelayNames, registerEventLoopDelay, type DelayHistogram } from './event-loop-delay.js'
import type { MetricsSources } from './sources.js'

export const METRIC_PREFIX = 'fleet_'
/** Request durations from 1 ms to 10 s: API calls are fast, plan imports and merges are not. */
export const DEFAULT_HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
export const TASK_STATUS_LABELS = ['pending', 'claimed', 'in_progress', 'review', 'done', 'failed', 'cancelled', 'blocked'] as const
export const MERGE_STATE_LABELS = ['queued', 'merging', 'merged', 'ejected'] as const
export const AGENT_HEALTH_LABELS = ['healthy', 'stale', 'dead'] as const
/**
 * How often prom-client samples the event loop for its own delay histogram. Its gauges are
 * replaced by the watchdog's (event-loop-delay.ts) and only its `fleet_nodejs_eventloop_lag_seconds`
 * collect reads it, so it samples once a second: its default, 10 ms, woke an idle process 100 times
 * a second (0.6 % of a core per process on the 2-core VM, 2026-11-30).
 */
export const DEFAULT_EVENT_LOOP_PRECISION_MS = 1000

export interface FleetMetricsInit {
  sources?: MetricsSources
  /** Counts every live event by type (fleet_events_total). */
  events?: EventBus
  /** Node.js process metrics (CPU, memory, event loop lag, GC), prefixed fleet_ (default true). */
  processMetrics?: boolean
  /**
   * How late the event loop ran, in nanoseconds (the watchdog's `delays`): with processMetrics,
   * exported as fleet_nodejs_eventloop_lag_{min,max,mean,stddev,p50,p90,p99}_seconds.
   */
  eventLoopDelay?: DelayHistogram
  httpBuckets?: number[]
}

/** A counter the rest of the node bumps where the thing happens. */
export interface Incrementable {
  inc: (by?: number) => void
}

/** Sets `values` on a labelled gauge, with 0 for every expected label not present. */
function setAll (g: Gauge<string>, label: string, values: Record<string, number>, expected: readonly string[]): void {
  g.reset()
  for (const k of expected) g.set({ [label]: k }, 0)
  for (const [k, v] of Object.entries(values)) g.set({ [label]: k }, v)
}

/**
 * The node's Prometheus metrics, in a registry of its own (not prom-client's global one, so two
 * nodes in one process, as in tests, never share or clash). Gauges read their MetricsSources at
 * scrape time; counters of things that happen are bumped by the code that makes them happen:
 *
 * - `claimsConfirmed` / `claimsLost`: the claim service, when its settle rule confirms our claim or
 *   another claim wins (fleet_claims_total{result}).
 * - `leaseExpiries`: the lease checker, per assignment it expires (fleet_lease_expiries_total).
 * - `mergesDone` / `mergesEjected`: the leader's merge worker (fleet_merges_total{result}).
 * - `eventLoopStalls`: the event-loop watchdog (fleet_event_loop_stalls_total).
 *
 * Each node counts only what it did itself, so summing over nodes counts each event once
 * (deriving them from replicated document events would count every event on every node).
 */
export class FleetMetrics {
  readonly registry = new Registry()
  private readonly sources: MetricsSources = {}
  readonly claimsConfirmed: Incrementable
  readonly claimsLost: Incrementable
  readonly leaseExpiries: Incrementable
  readonly mergesDone: Incrementable
  readonly mergesEjected: Incrementable
  readonly eventLoopStalls: Incrementable
  private readonly httpDuration: Histogram<'method' | 'route' | 'status'>
  private readonly eventsTotal: Counter<'type'>
  private readonly events: EventBus | undefined

  constructor (init: FleetMetricsInit = {}) {
    if (init.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX, eventLoopMonitoringPrecision: DEFAULT_EVENT_LOOP_PRECISION_MS })
      // Its delay gauges read the sampling interval as lag (event-loop-delay.ts): the watchdog's instead.
      for (const n of eventLoopDelayNames(METRIC_PREFIX)) this.registry.removeSingleMetric(n)
      if (init.eventLoopDelay !== undefined) registerEventLoopDelay(this.registry, METRIC_PREFIX, init.eventLoopDelay)
    }
    this.addSources(init.sources ?? {})
    const registers = [this.registry]
    const name = (n: string): string => METRIC_PREFIX + n

    // ---- things that happen (bumped by their owners, see the class comment) ----
    // Children are touched once so each series is exported as 0 before its first event.
    const zeroed = <T extends { inc: (by?: number) => void }>(c: T): T => { c.inc(0); return c }
    const claims = new Counter({ name: name('claims_total'), help: 'Claims made by this node that were confirmed or lost to another claim', labelNames: ['result'], registers })
    this.claimsConfirmed = zeroed(claims.labels('confirmed'))
    this.claimsLost = zeroed(claims.labels('lost'))
    this.leaseExpiries = new Counter({ name: name('lease_expiries_total'), help: 'Assignments this node expired because their lease ran out', registers })
    const merges = new Counter({ name: name('merges_total'), help: 'Merge queue entries this node (as leader) merged or ejected', labelNames: ['result'], registers })
    this.mergesDone = zeroed(merges.labels('merged'))
    this.mergesEjected = zeroed(merges.labels('ejected'))
    this.eventLoopStalls = new Counter({ name: name('event_loop_stalls_total'), help: 'Times the event loop was blocked over 200 ms (see also fleet_nodejs_eventloop_lag_seconds)', registers })

    this.httpDuration = new Histogram({
      name: name('http_request_duration_seconds'),
      help: 'HTTP request durations by method, route pattern and status code',
      labelNames: ['method', 'route', 'status'],
      buckets: init.httpBuckets ?? DEFAULT_HTTP_BUCKETS,
      registers
    })
    this.eventsTotal = new Counter({ name: name('events_total'), help: 'Live events published on this node, by type', labelNames: ['type'], registers })
    this.events = init.events
    this.events?.on('event', this.onEvent)
  }

  /**
   * Adds (or replaces) sources after construction, for subsystems built later than the metrics
   * (leader, agent health). A source's metrics appear from the next scrape on.
   */
  addSources (more: MetricsSources): void {
    for (const key of Object.keys(more) as Array<keyof MetricsSources>) {
      if (more[key] === undefined) continue
      const known = this.sources[key] !== undefined
      ;(this.sources as Record<string, unknown>)[key] = more[key]
      if (!known) this.define(key)
    }
  }

  /**
   * Registers the metrics fed by one source; their collect() reads the source at scrape time.
   * Long by design: one case per source, one declaration per metric, the catalogue in one place.
   */
  private define (key: keyof MetricsSources): void {
    const registers = [this.registry]
    const name = (n: string): string => METRIC_PREFIX + n
    const s = this.sources
    // Cumulative values kept by a subsystem: re-set from its source on each scrape, still exposed as counters.
    const cumulative = <T>(n: string, help: string, labelNames: string[], read: () => T | undefined, values: (t: T) => Array<[Record<string, string>, number]>): void => {
      new Counter({
        name: name(n),
        help,
        labelNames,
        registers,
        collect () {
          this.reset()
          const t = read()
          if (t !== undefined) for (const [labels, v] of values(t)) this.inc(labels, v)
        }
      })
    }
    switch (key) {
      case 'connectedPeers':
        new Gauge({ name: name('connected_peers'), help: 'Fleet peers with an open sync session', registers, collect () { this.set(s.connectedPeers?.() ?? 0) } })
        break
      case 'peerHeads': {
        // prom-client collects metrics in registration order, so each gauge reads the source itself.
        new Gauge({
          name: name('peer_heads_behind'),
          help: 'Heads a peer announced that this replica lacks (0: we have everything it has)',
          labelNames: ['peer'],
          registers,
          collect () {
            this.reset()
            for (const p of s.peerHeads?.() ?? []) this.set({ peer: p.peer }, p.behind)
          }
        })
        new Gauge({
          name: name('peer_in_sync'),
          help: '1 when the peer announced exactly our heads',
          labelNames: ['peer'],
          registers,
          collect () {
            this.reset()
            for (const p of s.peerHeads?.() ?? []) this.set({ peer: p.peer }, p.inSync ? 1 : 0)
          }
        })
        new Gauge({ name: name('peers_out_of_sync'), help: 'Recently seen peers whose announced heads differ from ours', registers, collect () { this.set((s.peerHeads?.() ?? []).filter(p => !p.inSync).length) } })
        break
      }
      case 'replication': {
        const stats = (): ReplicationStats | undefined => s.replication?.()
        const counter = (n: string, help: string, labelNames: string[], values: (r: ReplicationStats) => Array<[Record<string, string>, number]>): void => {
          cumulative(n, help, labelNames, stats, values)
        }
        counter('gossip_messages_total', 'Gossip messages received, sent, or dropped as malformed', ['direction'], r => [[{ direction: 'in' }, r.gossipIn], [{ direction: 'out' }, r.gossipOut], [{ direction: 'dropped' }, r.gossipRejected]])
        counter('gossip_sent_bytes_total', 'Bytes of gossip frames published', [], r => [[{}, r.gossipOutBytes]])
        counter('sync_messages_total', 'Anti-entropy sync frames received, sent, or dropped as malformed', ['direction'], r => [[{ direction: 'in' }, r.syncIn], [{ direction: 'out' }, r.syncOut], [{ direction: 'dropped' }, r.syncRejected]])
        counter('sync_streams_closed_total', 'Sync streams this node closed because the peer kept sending malformed frames', [], r => [[{}, r.syncStreamsClosed]])
        counter('sync_rounds_total', 'Full sync rounds started (on connect, on missing heads, on gaps)', [], r => [[{}, r.syncRounds]])
        counter('net_frames_total', 'Protocol frames sent, and received once decoded, by protocol (gossip: pubsub topics; sync: Automerge sync, reset, heads; swim: probes and member lists on the same stream) and kind', ['direction', 'protocol', 'kind'],
          r => r.frames.entries().map(c => [{ direction: c.direction, protocol: c.protocol, kind: c.kind }, c.count]))
        counter('changes_applied_total', 'Remote document changes applied from gossip', [], r => [[{}, r.changesApplied]])
        break
      }
      case 'swim':
        new Gauge({ name: name('swim_local_health'), help: 'Lifeguard local-health score: 0 healthy; each point stretches this node\'s probe timeouts and period by one more time (crdt/rules/lifeguard.ts)', registers, collect () { this.set(s.swim?.().health ?? 0) } })
        cumulative('swim_probes_total', 'SWIM probes by outcome: sent, check (of them, probes of a neighbour whose pings to us stopped), sweep (of them, pings to the next non-target neighbour), suspected (no ack directly or through helpers), stalled (our own loop was late: probed again)', ['result'],
          () => s.swim?.(), p => [[{ result: 'sent' }, p.probes], [{ result: 'check' }, p.checks], [{ result: 'sweep' }, p.sweeps], [{ result: 'suspected' }, p.suspicions], [{ result: 'stalled' }, p.selfSlow]])
        break
      case 'claimAcks':
        cumulative('claim_acks_total', 'Claim acknowledgements sent: direct (to a neighbour claimant), relayed (frames handing acks one hop on), broadcast (an announcement: no known path), dropped (relayed acks with no path or past the hop limit)', ['path'],
          () => s.claimAcks?.(), a => [[{ path: 'direct' }, a.direct], [{ path: 'relayed' }, a.relayFrames], [{ path: 'broadcast' }, a.broadcasts], [{ path: 'dropped' }, a.dropped]])
        break
      case 'materializationRepairs':
        new Counter({
          name: name('materialization_repairs_total'),
          help: 'Times remote changes left Automerge showing a stale value and the view was rebuilt (crdt/materialization.ts)',
          registers,
          collect () { this.reset(); this.inc(s.materializationRepairs?.() ?? 0) }
        })
        break
      case 'localWrites':
        new Counter({ name: name('local_writes_total'), help: 'Local writes applied to the document', registers, collect () { this.reset(); this.inc(s.localWrites?.().writes ?? 0) } })
        new Counter({ name: name('local_changes_total'), help: 'Local document changes made; below fleet_local_writes_total when concurrent writes shared a change', registers, collect () { this.reset(); this.inc(s.localWrites?.().changes ?? 0) } })
        break
      case 'documentBytes':
        new Gauge({ name: name('document_bytes'), help: 'Size of the replica as stored: its last snapshot plus the chunks saved since', registers, collect () { this.set(s.documentBytes?.() ?? 0) } })
        break
      case 'storage':
        new Gauge({
          name: name('storage_bytes'),
          help: 'Bytes stored on disk: the snapshot and the incremental chunks after it',
          labelNames: ['kind'],
          registers,
          collect () {
            const st = s.storage?.()
            this.reset()
            if (st === undefined) return
            this.set({ kind: 'snapshot' }, st.snapshotBytes)
            this.set({ kind: 'chunks' }, st.chunkBytes)
          }
        })
        break
      case 'tasksByStatus':
        new Gauge({ name: name('tasks'), help: 'Tasks by status', labelNames: ['status'], registers, collect () { setAll(this, 'status', s.tasksByStatus?.() ?? {}, TASK_STATUS_LABELS) } })
        break
      case 'mergeQueueByState': {
        new Gauge({ name: name('merge_queue_entries'), help: 'Merge queue entries by state', labelNames: ['state'], registers, collect () { setAll(this, 'state', s.mergeQueueByState?.() ?? {}, MERGE_STATE_LABELS) } })
        new Gauge({
          name: name('merge_queue_length'),
          help: 'Entries waiting to be merged (queued or merging)',
          registers,
          collect () {
            const byState = s.mergeQueueByState?.() ?? {}
            this.set((byState.queued ?? 0) + (byState.merging ?? 0))
          }
        })
        break
      }
      case 'agentsByHealth':
        new Gauge({ name: name('agents'), help: 'Registered agents by health', labelNames: ['health'], registers, collect () { setAll(this, 'health', s.agentsByHealth?.() ?? {}, AGENT_HEALTH_LABELS) } })
        break
      case 'leader': {
        const isLeader = new Gauge({ name: name('is_leader'), help: '1 while this node leads the current term', registers })
        new Gauge({
          name: name('leader_term'),
          help: 'The current leader term (0 while no leader is known)',
          registers,
          collect () {
            const l = s.leader?.() ?? null
            this.set(l?.term ?? 0)
            isLeader.set(l?.isLeader === true ? 1 : 0)
          }
        })
        break
      }
    }
  }

  /** Records one finished HTTP request; `route` is the route pattern, never the raw URL. */
  observeHttp (method: string, route: string, status: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status: String(status) }, seconds)
  }

  /** The Prometheus text exposition of every metric. */
  async text (): Promise<string> {
    return await this.registry.metrics()
  }

  get contentType (): string {
    return this.registry.contentType
  }

  /** Stops listening to the event bus (the registry itself holds no timers once unreferenced). */
  close (): void {
    this.events?.off('event', this.onEvent)
  }

  private readonly onEvent = (e: LiveEvent): void => {
    this.eventsTotal.inc({ type: e.type })
  }
}
