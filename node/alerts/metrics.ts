import { Counter, Gauge, type Registry } from 'prom-client'
import { ALERT_NAMES } from '../../crdt/rules/alerts.js'
import { METRIC_PREFIX } from '../metrics/fleet-metrics.js'
import type { AlertInputs } from './inputs.js'
import type { AlertService } from './service.js'

export interface AlertMetricsInit {
  registry: Registry
  service: AlertService
  inputs: AlertInputs
}

/**
 * Alerting metrics, and the inputs of every alert rule as series, so that
 * scripts/prometheus/fleet-rules.yml states the same conditions in PromQL:
 *
 * - fleet_alerts_firing{alertname}: alerts the cluster has recorded as firing (same on every node)
 * - fleet_alert_notifications_total{result}: this node's deliveries (delivered, failed attempt, gave_up, dropped)
 * - fleet_agent_last_heartbeat_timestamp_seconds{agent,role,node}
 * - fleet_task_failed{task,epic} (1 per failed task), fleet_merge_ejected{task} (1 per task whose latest merge was ejected)
 * - fleet_merge_queue_oldest_waiting_timestamp_seconds, fleet_merge_queue_last_progress_timestamp_seconds, fleet_merge_leader_candidates
 * - fleet_peer_up{peer}, fleet_peer_behind_seconds{peer}
 * - fleet_last_claim_timestamp_seconds, fleet_agents_idle_with_work
 *
 * Every series is read from one view built at scrape time: O(agents + peers + alerting items).
 * Long by design: one declaration per metric of the list above, in its order.
 */
export function registerAlertMetrics ({ registry, service, inputs }: AlertMetricsInit): void {
  const registers = [registry]
  const name = (n: string): string => METRIC_PREFIX + n
  let cached: { at: number, view: ReturnType<AlertInputs['view']> } | null = null
  // One view per scrape: every gauge below reads it within the same few milliseconds.
  const view = (): ReturnType<AlertInputs['view']> => {
    const now = Date.now()
    if (cached === null || now - cached.at > 100) cached = { at: now, view: inputs.view(now) }
    return cached.view
  }
  const ts = (ms: number): number => ms / 1000

  new Gauge({
    name: name('alerts_firing'),
    help: 'Alerts recorded as firing in the replicated document, by alertname',
    labelNames: ['alertname'],
    registers,
    collect () {
      const by = service.firingByName()
      this.reset()
      for (const n of ALERT_NAMES) this.set({ alertname: n }, by[n] ?? 0)
    }
  })
  new Counter({
    name: name('alert_notifications_total'),
    help: 'Alert notifications this node sent: delivered, failed attempts (retried), gave_up, dropped',
    labelNames: ['result'],
    registers,
    collect () {
      const s = service.delivery.stats
      this.reset()
      this.inc({ result: 'delivered' }, s.delivered)
      this.inc({ result: 'failed' }, s.failedAttempts)
      this.inc({ result: 'gave_up' }, s.gaveUp)
      this.inc({ result: 'dropped' }, s.dropped)
    }
  })
  new Gauge({
    name: name('agent_last_heartbeat_timestamp_seconds'),
    help: 'Last sign of life of each agent this node heard (heartbeat, registration or this node\'s start)',
    labelNames: ['agent', 'role', 'node'],
    registers,
    collect () {
      this.reset()
      for (const a of view().agents) this.set({ agent: a.id, role: a.role, node: a.node }, ts(a.lastSeenAt))
    }
  })
  new Gauge({
    name: name('task_failed'),
    help: '1 for each task in status failed',
    labelNames: ['task', 'epic'],
    registers,
    collect () {
      this.reset()
      for (const t of view().failedTasks) this.set({ task: t.id, epic: t.epic ?? '' }, 1)
    }
  })
  new Gauge({
    name: name('merge_ejected'),
    help: '1 for each task whose latest merge queue entry was ejected (until it is queued again, merged or cancelled)',
    labelNames: ['task'],
    registers,
    collect () {
      this.reset()
      for (const e of view().ejected) this.set({ task: e.taskId }, 1)
    }
  })
  new Gauge({
    name: name('merge_queue_oldest_waiting_timestamp_seconds'),
    help: 'When the oldest entry still waiting (queued or merging) was enqueued; absent when none waits',
    registers,
    collect () {
      this.reset()
      const q = view().queue
      if (q.waitingSince !== null) this.set(ts(q.waitingSince))
    }
  })
  new Gauge({
    name: name('merge_queue_last_progress_timestamp_seconds'),
    help: 'When an entry last left the merge queue (merged or ejected); 0 if never',
    registers,
    collect () { this.set(ts(view().queue.lastProgressAt ?? 0)) }
  })
  new Gauge({
    name: name('merge_leader_candidates'),
    help: 'Live nodes with a git clone (this one included) that can lead the merge queue',
    registers,
    collect () { this.set(view().queue.leaderCandidates) }
  })
  new Gauge({
    name: name('peer_up'),
    help: '1 while a member is live (heard from within --liveness), 0 once it is not (members: heard from over 3 liveness windows)',
    labelNames: ['peer'],
    registers,
    collect () {
      this.reset()
      for (const p of view().peers) this.set({ peer: p.id }, p.live ? 1 : 0)
    }
  })
  new Gauge({
    name: name('peer_behind_seconds'),
    help: 'How long a live peer has lacked changes this node had (0: caught up)',
    labelNames: ['peer'],
    registers,
    collect () {
      this.reset()
      const v = view()
      for (const p of v.peers) if (p.live) this.set({ peer: p.id }, p.behindSince === null ? 0 : Math.max(0, (v.now - p.behindSince) / 1000))
    }
  })
  new Gauge({
    name: name('last_claim_timestamp_seconds'),
    help: 'When any task was last claimed (from the document); this node\'s start time if later',
    registers,
    collect () {
      const v = view()
      this.set(ts(Math.max(v.plan.lastClaimAt ?? 0, v.watchSince)))
    }
  })
  new Gauge({
    name: name('agents_idle_with_work'),
    help: 'Healthy idle agents whose role has available work (computed only once nothing was claimed for the stall window, else 0)',
    registers,
    collect () { this.set(view().plan.idleAgentsWithWork) }
  })
}
