import { requirePositive } from './errors.js'
import { headsAnnounceMs } from './swim.js'

/**
 * Alert rules: pure functions of a view of the cluster (built by node/alerts/inputs.ts from the
 * document, membership and heartbeats) and the time passed in. Which node evaluates them, writes
 * the transitions and delivers them is decided elsewhere (node/alerts/service.ts).
 *
 * Each rule says, per alert (a label set, so a fingerprint), "firing" or "clear". Rules over the
 * document see everything (every replica with the same heads agrees), so an alert they do not
 * report as firing is clear. Rules over what a node observed (heartbeats, liveness, heads) can
 * only clear what they have positive evidence for: a node that never heard of a peer must not
 * resolve "that peer is down" just because it knows nothing about it.
 */

/** No heartbeat for this long: the agent is dead (`--agent-dead`; health_status follows it). */
export const DEFAULT_AGENT_DEAD_MS = 120_000
/** Entries waiting and no merge or ejection for this long: the queue is stuck (`--queue-stuck`). */
export const DEFAULT_QUEUE_STUCK_MS = 600_000
/** A peer's heads missing our changes for this long: out of sync. */
export const DEFAULT_OUT_OF_SYNC_MS = 60_000
/**
 * Beyond the age a busy peer's announced heads can reach (swim.ts headsAnnounceMs): two of the lag
 * tracker's checkpoints (node/alerts/sync-lag.ts) and the gossip's delay.
 */
export const OUT_OF_SYNC_SLACK_MS = 15_000
/** Entries waiting and no live node able to lead the queue for this long: stuck (a start-up or leader change blip is not). */
export const DEFAULT_NO_LEADER_GRACE_MS = 30_000
/** Available work, idle agents that could take it, and no claim for this long: stalled. */
export const DEFAULT_PLAN_STALLED_MS = 600_000

export const ALERT_NAMES = ['FleetAgentDead', 'FleetTaskFailed', 'FleetMergeEjected', 'FleetMergeQueueStuck', 'FleetNodeDown', 'FleetNodeOutOfSync', 'FleetPlanStalled'] as const
export type AlertName = typeof ALERT_NAMES[number]

export const SEVERITY: Record<AlertName, 'critical' | 'warning' | 'info'> = {
  FleetAgentDead: 'warning',
  FleetTaskFailed: 'warning',
  FleetMergeEjected: 'info',
  FleetMergeQueueStuck: 'critical',
  FleetNodeDown: 'critical',
  FleetNodeOutOfSync: 'warning',
  FleetPlanStalled: 'warning'
}

/** Rules whose silence means "clear" (they read only the replicated document). */
export const DOCUMENT_ALERTS: ReadonlySet<AlertName> = new Set(['FleetTaskFailed', 'FleetMergeEjected'])

export interface AgentSample {
  id: string
  role: string
  /** The node the agent runs on. */
  node: string
  /** Last sign of life: heartbeat, registration, or when this node started watching, whichever is latest. */
  lastSeenAt: number
}

export interface FailedTaskSample { id: string, epic: string | null, title: string, reason: string | null }

/** A task whose latest merge queue entry was ejected. */
export interface EjectedSample { taskId: string, branch: string, reason: string | null, output: string | null }

export interface QueueSample {
  /** Entries queued or merging. */
  waiting: number
  /** enqueuedAt of the oldest waiting entry. */
  waitingSince: number | null
  /** When an entry last left the queue (merged or ejected). */
  lastProgressAt: number | null
  /** Live nodes with a git clone (this one included), i.e. nodes that could lead the queue. */
  leaderCandidates: number
  /** Since when there have been none (null while there are). */
  noCandidatesSince: number | null
}

export interface PeerSample {
  id: string
  live: boolean
  /** null: known (connected) but never heard announcing. */
  lastSeenAt: number | null
  /** Since when its announced heads have lacked changes we had; null: not behind. */
  behindSince: number | null
}

export interface PlanSample {
  /** Latest claim of any task, from the document. */
  lastClaimAt: number | null
  /** Healthy agents holding nothing whose role has available work (0 when not computed). */
  idleAgentsWithWork: number
}

export interface AlertView {
  now: number
  /** When this node started watching: nothing it observes is older than this. */
  watchSince: number
  agents: AgentSample[]
  failedTasks: FailedTaskSample[]
  ejected: EjectedSample[]
  queue: QueueSample
  peers: PeerSample[]
  plan: PlanSample
}

export interface AlertThresholds {
  agentDeadMs: number
  queueStuckMs: number
  outOfSyncMs: number
  planStalledMs: number
}

export const DEFAULT_ALERT_THRESHOLDS: AlertThresholds = {
  agentDeadMs: DEFAULT_AGENT_DEAD_MS,
  queueStuckMs: DEFAULT_QUEUE_STUCK_MS,
  outOfSyncMs: DEFAULT_OUT_OF_SYNC_MS,
  planStalledMs: DEFAULT_PLAN_STALLED_MS
}

export type Labels = Record<string, string>

export interface AlertInstance {
  fingerprint: string
  alertname: AlertName
  labels: Labels
  annotations: { summary: string, description: string }
}

export interface AlertEvaluation {
  firing: AlertInstance[]
  /** Fingerprints with positive evidence of being clear (observed rules). */
  clear: Set<string>
}

const encoder = new TextEncoder()

/**
 * The fingerprint of a label set, as Prometheus computes it (FNV-1a 64 over the labels sorted by
 * name, each name and value followed by 0xff), in 16 hex digits: the same labels give the same
 * fingerprint on every node and in every run. Computed on two 32-bit halves (BigInt arithmetic
 * cost more than the whole rest of an evaluation): prime = 2^40 + 0x1b3, so h * prime is
 * h * 0x1b3 plus the low word shifted 8 bits into the high word.
 */
export function fingerprint (labels: Labels): string {
  let hi = 0xcbf29ce4
  let lo = 0x84222325
  const step = (b: number): void => {
    lo = (lo ^ b) >>> 0
    const l = lo * 0x1b3
    hi = (hi * 0x1b3 + Math.floor(l / 0x100000000) + ((lo << 8) >>> 0)) >>> 0
    lo = l >>> 0
  }
  for (const name of Object.keys(labels).sort()) {
    for (const part of [name, labels[name] ?? '']) {
      for (const b of encoder.encode(part)) step(b)
      step(0xff)
    }
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0')
}

function instance (alertname: AlertName, rest: Labels, summary: string, description: string): AlertInstance {
  const labels: Labels = { alertname, severity: SEVERITY[alertname], ...rest }
  return { fingerprint: fingerprint(labels), alertname, labels, annotations: { summary, description } }
}

/** The fingerprint an alert of this name and these rule labels has (severity included). */
export function fingerprintOf (alertname: AlertName, rest: Labels = {}): string {
  return fingerprint({ alertname, severity: SEVERITY[alertname], ...rest })
}

const secs = (ms: number): number => Math.round(ms / 1000)
const tail = (s: string | null, n = 400): string => s === null ? '' : s.length > n ? `…${s.slice(-n)}` : s

/** Evaluates every rule over the view. */
export function evaluateAlerts (view: AlertView, thresholds: AlertThresholds = DEFAULT_ALERT_THRESHOLDS): AlertEvaluation {
  const t = {
    agentDeadMs: requirePositive('agentDeadMs', thresholds.agentDeadMs),
    queueStuckMs: requirePositive('queueStuckMs', thresholds.queueStuckMs),
    outOfSyncMs: requirePositive('outOfSyncMs', thresholds.outOfSyncMs),
    planStalledMs: requirePositive('planStalledMs', thresholds.planStalledMs)
  }
  const { now } = view
  const firing: AlertInstance[] = []
  const clear = new Set<string>()

  // An agent is dead once nothing was heard of it for agentDeadMs; a new heartbeat clears it.
  for (const a of view.agents) {
    const silent = now - a.lastSeenAt
    const labels = { agent: a.id, role: a.role, node: a.node }
    if (silent >= t.agentDeadMs) {
      firing.push(instance('FleetAgentDead', labels, `Agent ${a.id} (${a.role}) is dead`, `No heartbeat from agent ${a.id} (role ${a.role}, node ${a.node}) for ${secs(silent)} s (threshold ${secs(t.agentDeadMs)} s).`))
    } else {
      clear.add(fingerprintOf('FleetAgentDead', labels))
    }
  }

  for (const f of view.failedTasks) {
    firing.push(instance('FleetTaskFailed', { task: f.id, epic: f.epic ?? '' }, `Task ${f.id} failed`, `Task ${f.id} (${f.title}) failed: ${f.reason ?? 'no reason recorded'}.`))
  }

  for (const e of view.ejected) {
    const out = tail(e.output)
    firing.push(instance('FleetMergeEjected', { task: e.taskId }, `Merge of task ${e.taskId} was ejected`, `Branch ${e.branch} was ejected from the merge queue: ${e.reason ?? 'no reason recorded'}.${out === '' ? '' : `\nOutput tail:\n${out}`}`))
  }

  // Stuck: entries wait and nothing left the queue for queueStuckMs (measured from the later of
  // the last merge and the oldest wait, so an idle queue that just got an entry is not stuck), or
  // entries wait and no live node could lead the queue for DEFAULT_NO_LEADER_GRACE_MS.
  const q = view.queue
  const stuckFp = fingerprintOf('FleetMergeQueueStuck')
  if (q.waiting > 0 && q.leaderCandidates === 0 && q.noCandidatesSince !== null && now - q.noCandidatesSince >= DEFAULT_NO_LEADER_GRACE_MS) {
    firing.push(instance('FleetMergeQueueStuck', {}, 'Merge queue stuck: no node can lead it', `${q.waiting} entr${q.waiting === 1 ? 'y waits' : 'ies wait'} and no live node has a git clone to lead the merge queue.`))
  } else if (q.waiting > 0 && q.waitingSince !== null && now - Math.max(q.lastProgressAt ?? 0, q.waitingSince) >= t.queueStuckMs) {
    const idle = now - Math.max(q.lastProgressAt ?? 0, q.waitingSince)
    firing.push(instance('FleetMergeQueueStuck', {}, 'Merge queue stuck', `${q.waiting} entr${q.waiting === 1 ? 'y waits' : 'ies wait'} and nothing was merged or ejected for ${secs(idle)} s (threshold ${secs(t.queueStuckMs)} s).`))
  } else {
    clear.add(stuckFp)
  }

  // A busy peer's heads reach this node at least every heads-announcement interval, which grows with
  // the cluster (swim.ts headsAnnounceMs): a peer is not judged out of sync sooner than its heads
  // can be that old plus OUT_OF_SYNC_SLACK_MS, or a large cluster's healthy peers would fire.
  let liveMembers = 1
  for (const p of view.peers) if (p.live) liveMembers++
  const outOfSyncMs = Math.max(t.outOfSyncMs, headsAnnounceMs(liveMembers) + OUT_OF_SYNC_SLACK_MS)
  for (const p of view.peers) {
    // A peer never heard announcing proves nothing either way.
    if (p.lastSeenAt === null && !p.live) continue
    const labels = { peer: p.id }
    if (!p.live) {
      firing.push(instance('FleetNodeDown', labels, `Node ${p.id} is down`, `Node ${p.id} was last heard from ${secs(now - (p.lastSeenAt ?? now))} s ago.`))
      continue
    }
    clear.add(fingerprintOf('FleetNodeDown', labels))
    // Out of sync is judged only for live peers (a dead one is FleetNodeDown).
    if (p.behindSince !== null && now - p.behindSince > outOfSyncMs) {
      firing.push(instance('FleetNodeOutOfSync', labels, `Node ${p.id} is out of sync`, `Node ${p.id} has lacked changes this node has for ${secs(now - p.behindSince)} s (threshold ${secs(outOfSyncMs)} s).`))
    } else {
      clear.add(fingerprintOf('FleetNodeOutOfSync', labels))
    }
  }

  // Stalled: claimable work and idle agents for it, yet no claim for planStalledMs (counted from
  // when this node started watching at the earliest, so a restart does not fire at once).
  const quietFor = now - Math.max(view.plan.lastClaimAt ?? 0, view.watchSince)
  if (quietFor >= t.planStalledMs && view.plan.idleAgentsWithWork > 0) {
    firing.push(instance('FleetPlanStalled', {}, 'Plan stalled', `${view.plan.idleAgentsWithWork} idle agent(s) could take available work, but nothing was claimed for ${secs(quietFor)} s (threshold ${secs(t.planStalledMs)} s).`))
  } else {
    clear.add(fingerprintOf('FleetPlanStalled'))
  }
  return { firing, clear }
}

/** What the document says of one alert (node/alerts reads it from the replica). */
export interface AlertRecordState {
  fingerprint: string
  alertname: string
  status: 'firing' | 'resolved'
}

export interface AlertTransitions {
  /** Alerts to record as firing: not recorded, or recorded as resolved. */
  fire: AlertInstance[]
  /** Fingerprints of recorded firing alerts to resolve. */
  resolve: string[]
}

/**
 * The transitions that bring the recorded alerts in line with an evaluation. An alert fires once
 * (no transition while its record is firing) and resolves once: a firing record is resolved when
 * its rule reports it clear, or, for document rules, simply no longer reports it.
 */
export function planTransitions (evaluation: AlertEvaluation, records: Iterable<AlertRecordState>): AlertTransitions {
  const byFp = new Map<string, AlertRecordState>()
  for (const r of records) byFp.set(r.fingerprint, r)
  const firingNow = new Set<string>()
  const fire: AlertInstance[] = []
  for (const a of evaluation.firing) {
    if (firingNow.has(a.fingerprint)) continue
    firingNow.add(a.fingerprint)
    if (byFp.get(a.fingerprint)?.status !== 'firing') fire.push(a)
  }
  const resolve: string[] = []
  for (const r of byFp.values()) {
    if (r.status !== 'firing' || firingNow.has(r.fingerprint)) continue
    const documentRule = (DOCUMENT_ALERTS as ReadonlySet<string>).has(r.alertname)
    if (documentRule || evaluation.clear.has(r.fingerprint)) resolve.push(r.fingerprint)
  }
  return { fire, resolve }
}
