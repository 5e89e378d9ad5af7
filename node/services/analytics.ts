import type { DocStore } from '../../crdt/doc-store.js'
import type { ProjectionCache } from '../../crdt/projection.js'
import { analyticsOf, burndownOf, throughputOf, type AgentStats, type Analytics, type BucketSize, type BurndownPoint, type DoneTask, type Incident, type RoleStats, type ThroughputBucket } from '../../crdt/rules/analytics.js'
import { fnv1a, read } from '../../crdt/schema.js'
import { forecastOf, DEFAULT_FORECAST_RUNS, type Forecast } from '../../plan/forecast.js'
import { mulberry32 } from '../../plan/prng.js'
import type { SimTask } from '../../plan/simulate.js'
import type { AgentService } from './agents.js'
import type { MergeQueueService } from './merge-queue.js'

/** A forecast younger than this is served even when the document has moved on (see forecast()). */
export const DEFAULT_FORECAST_REFRESH_MS = 5_000
/** Task-simulations one forecast may spend on p50/p90: fewer runs for big plans (10,000 tasks: 20 runs). */
export const DEFAULT_FORECAST_TASK_BUDGET = 200_000
export const MIN_FORECAST_RUNS = 10

export interface AnalyticsServiceInit {
  store: DocStore
  projection: ProjectionCache
  agents: AgentService
  mergeQueue: MergeQueueService
  /** Simulations behind the forecast's p50/p90 (default: DEFAULT_FORECAST_RUNS, fewer past DEFAULT_FORECAST_TASK_BUDGET). */
  forecastRuns?: number
  /** Default DEFAULT_FORECAST_REFRESH_MS; 0 recomputes on every change. */
  forecastRefreshMs?: number
}

export interface ForecastView extends Forecast {
  computedAt: number
  /** The document heads the forecast was computed for. */
  heads: string
}

export interface BurndownView {
  points: BurndownPoint[]
  /** From now (remaining hours) to the projected finish (0), when there is a projection. */
  forecast: { from: BurndownPoint, projected: BurndownPoint | null, p90: BurndownPoint | null }
}

/**
 * Read-side analytics and the forecast. Both are derived from the document on demand and cached by
 * its heads (the forecast also by the set of live agents), so a node does no analytics work per
 * change or per heartbeat: only a read after something changed recomputes, once.
 */
export class AnalyticsService {
  private cached: { heads: string, analytics: Analytics } | null = null
  private cachedForecast: { key: string, forecast: ForecastView } | null = null

  constructor (private readonly init: AnalyticsServiceInit) {}

  analytics (): Analytics {
    const view = this.init.projection.get()
    if (this.cached?.heads === view.heads) return this.cached.analytics
    const agents = Object.values(this.init.store.doc.agents).map(a => ({ id: read(a.id), role: read(a.role), nodeId: read(a.nodeId) }))
    const analytics = analyticsOf({ tasks: [...view.tasks.inOrder()], assignments: [...view.assignments.values()], mergeQueue: this.init.mergeQueue.list(), agents })
    this.cached = { heads: view.heads, analytics }
    return analytics
  }

  agents (): AgentStats[] {
    return this.analytics().agents
  }

  roles (): RoleStats[] {
    return this.analytics().roles
  }

  throughput (bucket: BucketSize): ThroughputBucket[] {
    return throughputOf(this.analytics(), bucket)
  }

  /** Done tasks that took longest against their estimate, slowest first. */
  slowest (limit: number): DoneTask[] {
    return this.analytics().done.filter(d => d.ratio !== null).sort((a, b) => (b.ratio as number) - (a.ratio as number) || (a.taskId < b.taskId ? -1 : 1)).slice(0, limit)
  }

  /** Failed and expired attempts and ejected merges, newest first. */
  incidents (limit: number): Incident[] {
    return this.analytics().incidents.slice(0, limit)
  }

  /**
   * The forecast for the document and live agents now. Its simulations cost up to a few hundred ms
   * on a 10,000-task plan, so while work streams in it is recomputed at most once per
   * forecastRefreshMs (the answer names the heads and time it was computed for).
   */
  forecast (now = Date.now()): ForecastView {
    const view = this.init.projection.get()
    const live = this.init.agents.list(now).filter(a => a.health_status !== 'dead').map(a => ({ id: a.id, role: a.role }))
    const key = `${view.heads}|${live.map(a => `${a.id}:${a.role}`).join(',')}`
    const cached = this.cachedForecast
    if (cached !== null && (cached.key === key || now - cached.forecast.computedAt < (this.init.forecastRefreshMs ?? DEFAULT_FORECAST_REFRESH_MS))) return cached.forecast
    const tasks: SimTask[] = [...view.tasks.inOrder()].map(t => ({ id: t.id, estimatedHours: t.estimatedHours, dependsOn: t.dependsOn, order: t.order, status: t.status, priority: t.priority, role: t.role, progress: t.progress, assignee: t.assignee }))
    const a = this.analytics()
    const forecast = forecastOf({
      tasks,
      agents: live,
      // The chains the projection keeps for the ready order: the simulation orders work as agents do.
      downstream: view.downstream,
      estimateRatio: a.overall.estimateRatio,
      ratios: a.done.map(d => d.ratio).filter((r): r is number => r !== null),
      now,
      // Seeded by the heads: every node with the same document and agents gives the same spread.
      random: mulberry32(fnv1a(key)),
      runs: this.init.forecastRuns ?? Math.min(DEFAULT_FORECAST_RUNS, Math.max(MIN_FORECAST_RUNS, Math.floor(DEFAULT_FORECAST_TASK_BUDGET / Math.max(1, tasks.length))))
    })
    const out = { ...forecast, computedAt: now, heads: view.heads }
    this.cachedForecast = { key, forecast: out }
    return out
  }

  burndown (now = Date.now()): BurndownView {
    const a = this.analytics()
    const points = burndownOf([...this.init.projection.get().tasks.inOrder()], a.done)
    const f = this.forecast(now)
    const at = (t: number | null): BurndownPoint | null => t === null ? null : { at: t, remainingHours: 0 }
    return { points, forecast: { from: { at: now, remainingHours: f.remainingHours }, projected: at(f.projectedFinishAt), p90: at(f.p90FinishAt) } }
  }
}
