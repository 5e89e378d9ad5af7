import type { DocStore, DocChangeEvent } from '../../crdt/doc-store.js'
import {
  AlertRecordIndex, pruneResolved, transitionKey, writeDelivered, writeFiring, writeResolved, writeTakeOver,
  MAX_RESOLVED_ALERTS, type AlertRecord
} from '../../crdt/alert-records.js'
import { evaluateAlerts, planTransitions, type AlertEvaluation, type AlertThresholds, type AlertView } from '../../crdt/rules/alerts.js'
import type * as A from '@automerge/automerge'
import type { EventBus } from '../events/bus.js'
import type { Logger } from '../logger.js'
import { AlertDelivery, type DeliveryOutcome, type Notification } from './delivery.js'
import { payloadFor } from './payload.js'
import type { Receiver } from './receivers.js'
import { TickBatch } from '../util/tick-batch.js'

/** Alerts are evaluated this often. */
export const DEFAULT_ALERT_TICK_MS = 1000
/**
 * A node acts as the alert sender only while it leads now and also a guard before and after (same
 * live set): around a term boundary, two nodes whose clocks differ a little would otherwise both
 * send the same transition.
 */
export const DEFAULT_LEADER_GUARD_MS = 1500
/** Recent transitions listed by GET /api/alerts. */
export const DEFAULT_RECENT_SHOWN = 50

/** What the rules look at (AlertInputs), kept current from each change's patches. */
export interface AlertViewSource {
  notePatches: (patches: readonly A.Patch[]) => void
  view: (now: number) => AlertView
}

export interface AlertServiceInit {
  selfId: string
  store: DocStore
  inputs: AlertViewSource
  thresholds: AlertThresholds
  receivers: readonly Receiver[]
  /** The rotating leader (node/coord/leader.ts): whether this node leads at a given time. */
  leaderAt: (now: number) => string | null
  /** Whether a node is live (heard from within the liveness window); this node always is. */
  isLive: (nodeId: string) => boolean
  events: EventBus
  logger: Logger
  /** This node's HTTP URL, for links in notifications (known once the server listens). */
  externalUrl: () => string
  tickMs?: number
  leaderGuardMs?: number
  /** Delivery timing (see AlertDeliveryInit); for tests. */
  delivery?: { timeoutMs?: number, retryBaseMs?: number, retryMaxMs?: number, retryWindowMs?: number, maxPending?: number }
}

export interface AlertJson {
  fingerprint: string
  alertname: string
  status: 'firing' | 'resolved'
  labels: Record<string, string>
  annotations: { summary: string, description: string }
  startsAt: string
  endsAt: string | null
  /** The node that sent (or is sending) the latest transition, and whether every receiver has it. */
  sender: string
  delivered: boolean
  updatedAt: string
}

export function alertJson (r: AlertRecord): AlertJson {
  return {
    fingerprint: r.fingerprint,
    alertname: r.alertname,
    status: r.status,
    labels: r.labels,
    annotations: r.annotations,
    startsAt: new Date(r.startsAt).toISOString(),
    endsAt: r.endsAt === null ? null : new Date(r.endsAt).toISOString(),
    sender: r.sender,
    delivered: r.undelivered.length === 0,
    updatedAt: new Date(r.updatedAt).toISOString()
  }
}

/**
 * Alerting, once per cluster. Every node keeps the inputs and the records current (cheap, from
 * change patches); the node leading the current term evaluates the rules, records each transition
 * in the document (fire once, resolve once) and sends it. A record names its sender and the
 * receivers that have not acknowledged it; the sender clears them as they answer. A sender that
 * dies first leaves them listed, and the next leader, seeing a sender that is no longer live, takes
 * the record over and sends again (at least once: a receiver may get a transition twice if the
 * sender died between its POST and recording the answer). A sender that restarts resumes its own.
 */
export class AlertService {
  readonly records: AlertRecordIndex
  readonly delivery: AlertDelivery
  /** Acknowledgements that arrive together are written in one change, promptly (a kill right after a POST resends). */
  private readonly acks = new TickBatch<{ fp: string, transition: string, receiver: string }>((batch) => { this.writeAcks(batch) })
  /** Acknowledgements not yet written: their receivers must not be sent the transition again meanwhile. */
  private readonly acking = new Set<string>()
  private timer: NodeJS.Timeout | null = null
  private writing = false
  private stopped = false
  private last: AlertEvaluation = { firing: [], clear: new Set() }

  constructor (private readonly init: AlertServiceInit) {
    this.records = new AlertRecordIndex(() => init.store.doc)
    this.delivery = new AlertDelivery({
      receivers: init.receivers,
      logger: init.logger,
      onResult: (rid, n, outcome) => { this.onResult(rid, n, outcome) },
      ...init.delivery
    })
  }

  start (): void {
    this.records.all()
    this.init.store.on('change', this.onChange)
    this.timer = setInterval(() => { this.tick() }, this.init.tickMs ?? DEFAULT_ALERT_TICK_MS)
  }

  stop (): void {
    this.stopped = true
    if (this.timer !== null) clearInterval(this.timer)
    this.init.store.off('change', this.onChange)
    this.delivery.stop()
  }

  /** Alerts firing now, and the latest transitions (newest first), as the API shows them. */
  list (recent = DEFAULT_RECENT_SHOWN): { active: AlertJson[], recent: AlertJson[] } {
    const all = this.records.all()
    const at = (r: AlertRecord): number => r.status === 'firing' ? r.startsAt : (r.endsAt ?? r.updatedAt)
    const active = all.filter(r => r.status === 'firing').sort((a, b) => b.startsAt - a.startsAt)
    return { active: active.map(alertJson), recent: [...all].sort((a, b) => at(b) - at(a)).slice(0, recent).map(alertJson) }
  }

  /** Firing alerts by name (fleet_alerts_firing). */
  firingByName (): Record<string, number> {
    const out: Record<string, number> = {}
    for (const r of this.records.all()) if (r.status === 'firing') out[r.alertname] = (out[r.alertname] ?? 0) + 1
    return out
  }

  /** The latest evaluation this node made (every node evaluates; only the leader records). */
  lastEvaluation (): AlertEvaluation {
    return this.last
  }

  private readonly onChange = (e: DocChangeEvent): void => {
    this.init.inputs.notePatches(e.patches)
    for (const t of this.records.notePatches(e.patches)) {
      if (!t.transitioned || t.record === null) continue
      this.init.events.publish('alert', { id: t.fingerprint, op: t.record.status, origin: e.origin, alert: alertJson(t.record) })
    }
  }

  /** Leads now and throughout the guard around now (same live set), so term edges never overlap. */
  private acting (now: number): boolean {
    const g = this.init.leaderGuardMs ?? DEFAULT_LEADER_GUARD_MS
    const self = this.init.selfId
    return this.init.leaderAt(now) === self && this.init.leaderAt(now - g) === self && this.init.leaderAt(now + g) === self
  }

  tick (now = Date.now()): void {
    if (this.stopped) return
    try {
      this.last = evaluateAlerts(this.init.inputs.view(now), this.init.thresholds)
      this.resumeOwn()
      if (this.writing || !this.acting(now)) return
      const plan = planTransitions(this.last, this.records.all())
      const orphans = this.records.all().filter(r => r.undelivered.length > 0 && r.sender !== this.init.selfId && !this.init.isLive(r.sender))
      if (plan.fire.length === 0 && plan.resolve.length === 0 && orphans.length === 0) return
      this.writing = true
      this.record(plan, orphans, now)
        .catch((err: unknown) => { this.init.logger.error({ err }, 'recording alert transitions failed; will retry') })
        .finally(() => { this.writing = false })
    } catch (err) {
      this.init.logger.error({ err }, 'alert evaluation failed')
    }
  }

  /** Writes the transitions (and take-overs) in one change, then sends them. */
  private async record (plan: ReturnType<typeof planTransitions>, orphans: AlertRecord[], now: number): Promise<void> {
    if (this.stopped) return
    const self = this.init.selfId
    const ids = this.delivery.receiverIds()
    const resolved = this.records.all().filter(r => r.status === 'resolved')
    // Resolved alerts that fire again now are no longer resolved.
    const firing = new Set(plan.fire.map(a => a.fingerprint))
    await this.init.store.change((d) => {
      for (const a of plan.fire) writeFiring(d, a, now, self, ids)
      for (const fp of plan.resolve) writeResolved(d, fp, now, self, ids)
      for (const r of orphans) {
        // Only receivers this node knows can be served; others (a node configured differently) are dropped.
        writeTakeOver(d, r.fingerprint, transitionKey(r), self, r.undelivered.filter(id => ids.includes(id)))
      }
      // The ones resolved just now count against the bound but are never the ones deleted.
      pruneResolved(d, resolved.filter(r => !firing.has(r.fingerprint)), Math.max(0, MAX_RESOLVED_ALERTS - plan.resolve.length))
    }, `alerts: ${plan.fire.length} firing, ${plan.resolve.length} resolved, ${orphans.length} taken over`)
    for (const a of plan.fire) this.init.logger.info({ alertname: a.alertname, labels: a.labels }, 'alert firing')
    for (const fp of plan.resolve) this.init.logger.info({ fingerprint: fp }, 'alert resolved')
    for (const r of orphans) this.init.logger.warn({ fingerprint: r.fingerprint, deadSender: r.sender }, 'taking over an alert notification its sender did not finish')
    this.resumeOwn()
  }

  /** Queues every transition this node owns that receivers still lack and no lane holds (after a restart, or just written). */
  private resumeOwn (): void {
    for (const r of this.records.all()) {
      if (r.sender !== this.init.selfId || r.undelivered.length === 0) continue
      const transition = transitionKey(r)
      for (const rid of r.undelivered) {
        if (this.delivery.has(rid, r.fingerprint, transition) || this.acking.has(`${rid}|${r.fingerprint}|${transition}`)) continue
        const receiver = this.init.receivers.find(x => x.id === rid)
        if (receiver === undefined) {
          this.ack(r.fingerprint, transition, rid)
          continue
        }
        this.delivery.enqueue(rid, { fingerprint: r.fingerprint, transition, body: payloadFor(receiver.format, r, this.init.externalUrl()) })
      }
    }
  }

  private onResult (receiverId: string, n: Notification, outcome: DeliveryOutcome): void {
    if (this.stopped) return
    if (outcome === 'delivered') this.init.logger.info({ fingerprint: n.fingerprint, transition: n.transition, receiver: receiverId }, 'alert notification delivered')
    // Given up or dropped counts as done too: nobody should retry it forever.
    this.ack(n.fingerprint, n.transition, receiverId)
  }

  private ack (fp: string, transition: string, receiver: string): void {
    this.acking.add(`${receiver}|${fp}|${transition}`)
    this.acks.push({ fp, transition, receiver })
  }

  private writeAcks (batch: Array<{ fp: string, transition: string, receiver: string }>): void {
    if (batch.length === 0 || this.stopped) return
    // The change is applied (and the index updated) synchronously; only the disk write is awaited.
    this.init.store.change((d) => {
      for (const a of batch) writeDelivered(d, a.fp, a.transition, a.receiver)
    }, `alerts: ${batch.length} delivered`).catch((err: unknown) => {
      this.init.logger.error({ err }, 'recording alert deliveries failed')
    })
    for (const a of batch) this.acking.delete(`${a.receiver}|${a.fp}|${a.transition}`)
  }
}
