import type * as A from '@automerge/automerge'
import type { DocStore } from '../../crdt/doc-store.js'
import { getIn, own, valuesOf } from '../../crdt/collections.js'
import type { AgentSample, AlertView, EjectedSample, FailedTaskSample, PeerSample } from '../../crdt/rules/alerts.js'
import { heartbeatHealth } from '../../crdt/rules/leases.js'
import { read, readOpt, type DocMergeEntry } from '../../crdt/schema.js'
import { idsWithStoredStatus, readTask } from '../../crdt/task-records.js'
import { lastSeen, type PeerInfo } from '../net/peer-table.js'
import { SyncLagTracker } from './sync-lag.js'

/**
 * A peer counts as a member (FleetNodeDown, FleetNodeOutOfSync, fleet_peer_up) once it has been
 * heard from over this many liveness windows: a node is a long-lived process, while a peer that
 * announces briefly and goes (a client, a probe, a misconfigured process) is not alerted on.
 */
export const DEFAULT_MEMBER_AFTER_LIVENESS = 3

/** The idle-agents-with-work check behind FleetPlanStalled runs at most this often, and only when no claim came for the window. */
export const DEFAULT_STALL_CHECK_MS = 60_000

export interface AlertInputsInit {
  store: DocStore
  /** When this node started watching (its start time). */
  watchSince: number
  /** Whether this node has a git clone (can lead the merge queue). */
  merger: boolean
  /** Known peers (the replicator's peer table) and the live ones among them. */
  peers: () => PeerInfo[]
  livePeers: () => PeerInfo[]
  /** Last heartbeat this node heard from an agent (node/services/agents.ts). */
  lastBeat: (agentId: string) => number | null
  heartbeatStaleMs: number
  heartbeatDeadMs: number
  /** The liveness window (--liveness): membership needs DEFAULT_MEMBER_AFTER_LIVENESS of them. */
  livenessMs: number
  /**
   * Agents holding an assignment and roles with available work ('' for tasks any role may take),
   * behind FleetPlanStalled (called rarely, see DEFAULT_STALL_CHECK_MS).
   */
  workCheck: () => { busyAgents: ReadonlySet<string>, rolesWithWork: ReadonlySet<string> }
  planStalledMs: number
  stallCheckMs?: number
}

interface LatestEntry { id: string, enqueuedAt: number, state: string, branch: string, reason: string | null, output: string | null }

/**
 * What the alert rules look at, kept as indexes that each document change updates for the tasks,
 * merge entries and assignments it touched (from its patches), so building a view costs
 * O(agents + peers + alerting items), never O(tasks). The document is walked once at start, or
 * again only when a patch cannot be placed.
 */
export class AlertInputs {
  private readonly failed = new Map<string, FailedTaskSample>()
  /** Latest merge queue entry of each task that has one. */
  private readonly latestEntry = new Map<string, LatestEntry>()
  private readonly ejected = new Map<string, EjectedSample>()
  private readonly waiting = new Map<string, number>()
  private lastProgressAt: number | null = null
  private lastClaimAt: number | null = null
  private readonly dirtyTasks = new Set<string>()
  private readonly dirtyEntries = new Set<string>()
  private readonly dirtyAssignments = new Set<string>()
  private full = true
  private idleWithWork = { at: -Infinity, count: 0 }
  private noCandidatesSince: number | null = null
  /** Per peer: when it was first heard announcing; and the peers that became members (for good). */
  private readonly firstHeard = new Map<string, number>()
  private readonly members = new Set<string>()
  readonly syncLag: SyncLagTracker

  constructor (private readonly init: AlertInputsInit) {
    const store = init.store
    this.syncLag = new SyncLagTracker({
      heads: () => store.heads(),
      missingFrom: (peerHeads) => {
        if (store.missingDeps(peerHeads).length > 0) return null
        return new Set(store.changesSince(peerHeads))
      }
    })
  }

  /** Records what a change touched (call with every change's patches, in order). */
  notePatches (patches: readonly A.Patch[]): void {
    if (this.full) return
    for (const p of patches) {
      const coll = p.path[0]
      if (coll === 'tasks' || coll === 'taskState' || coll === 'assignments') {
        const key = p.path[2]
        if (typeof key !== 'string') { this.full = true; return }
        if (coll === 'tasks') this.dirtyTasks.add(key)
        else if (coll === 'taskState') this.dirtyTasks.add(key.slice(0, key.lastIndexOf('/') >>> 0))
        else this.dirtyAssignments.add(key)
      } else if (coll === 'mergeQueue') {
        const key = p.path[1]
        if (typeof key !== 'string') { this.full = true; return }
        this.dirtyEntries.add(key)
      }
    }
  }

  /** The view the rules evaluate, at `now`. */
  view (now: number): AlertView {
    this.refresh()
    const doc = this.init.store.doc
    const live = this.init.livePeers()
    const liveIds = new Set(live.map(p => p.nodeId))
    this.syncLag.update(now, live.map(p => ({ id: p.nodeId, heads: p.heads })))
    const agents: AgentSample[] = []
    for (const [id, a] of Object.entries(doc.agents)) {
      const beat = this.init.lastBeat(id) ?? a.registeredAt
      agents.push({ id, role: read(a.role), node: read(a.nodeId), lastSeenAt: Math.max(beat, this.init.watchSince) })
    }
    const peers: PeerSample[] = this.memberPeers(now).map(p => ({
      id: p.nodeId,
      live: liveIds.has(p.nodeId),
      lastSeenAt: lastSeen(p, now),
      behindSince: liveIds.has(p.nodeId) ? this.syncLag.behindSince(p.nodeId) : null
    }))
    let waitingSince: number | null = null
    for (const at of this.waiting.values()) if (waitingSince === null || at < waitingSince) waitingSince = at
    const candidates = (this.init.merger ? 1 : 0) + live.filter(p => p.merger).length
    if (candidates > 0) this.noCandidatesSince = null
    else this.noCandidatesSince ??= now
    return {
      now,
      watchSince: this.init.watchSince,
      agents,
      failedTasks: [...this.failed.values()],
      ejected: [...this.ejected.values()],
      queue: { waiting: this.waiting.size, waitingSince, lastProgressAt: this.lastProgressAt, leaderCandidates: candidates, noCandidatesSince: this.noCandidatesSince },
      peers,
      plan: { lastClaimAt: this.lastClaimAt, idleAgentsWithWork: this.idleAgentsWithWork(now, agents) }
    }
  }

  /** Known peers that are members (see DEFAULT_MEMBER_AFTER_LIVENESS); O(peers). */
  private memberPeers (now: number): PeerInfo[] {
    const after = DEFAULT_MEMBER_AFTER_LIVENESS * this.init.livenessMs
    const out: PeerInfo[] = []
    for (const p of this.init.peers()) {
      const seen = lastSeen(p, now)
      if (seen === null) continue
      const first = this.firstHeard.get(p.nodeId) ?? seen
      this.firstHeard.set(p.nodeId, first)
      if (!this.members.has(p.nodeId) && seen - first >= after) this.members.add(p.nodeId)
      if (this.members.has(p.nodeId)) out.push(p)
    }
    return out
  }

  /**
   * Healthy agents holding nothing whose role has available work. Only computed once nothing was
   * claimed for the stall window (the only time FleetPlanStalled can fire) and then at most every
   * stallCheckMs; otherwise 0.
   */
  private idleAgentsWithWork (now: number, agents: AgentSample[]): number {
    const quietFor = now - Math.max(this.lastClaimAt ?? 0, this.init.watchSince)
    if (quietFor < this.init.planStalledMs) {
      this.idleWithWork = { at: -Infinity, count: 0 }
      return 0
    }
    if (now - this.idleWithWork.at < (this.init.stallCheckMs ?? DEFAULT_STALL_CHECK_MS)) return this.idleWithWork.count
    const healthy = agents.filter(a => heartbeatHealth(a.lastSeenAt, now, { staleMs: this.init.heartbeatStaleMs, deadMs: this.init.heartbeatDeadMs }) === 'healthy')
    let count = 0
    if (healthy.length > 0) {
      const { busyAgents, rolesWithWork } = this.init.workCheck()
      count = healthy.filter(a => !busyAgents.has(a.id) && (rolesWithWork.has('') || rolesWithWork.has(a.role))).length
    }
    this.idleWithWork = { at: now, count }
    return count
  }

  /** Brings the indexes up to date with the document. */
  private refresh (): void {
    const doc = this.init.store.doc
    if (this.full) {
      this.full = false
      this.failed.clear()
      this.latestEntry.clear()
      this.ejected.clear()
      this.waiting.clear()
      this.lastProgressAt = null
      this.lastClaimAt = null
      // Only failed tasks are kept: their ids come from the state buckets, and only their specs are read.
      for (const id of idsWithStoredStatus(doc, 'failed')) {
        const t = readTask(doc, id)
        if (t !== undefined) this.failed.set(id, { id, epic: t.epic, title: t.title, reason: t.reason })
      }
      for (const [id, e] of Object.entries(doc.mergeQueue)) this.noteEntry(id, e)
      for (const a of valuesOf(doc.assignments)) this.noteClaim(a.claimedAt)
      for (const taskId of this.latestEntry.keys()) this.judgeEjected(taskId)
    } else {
      const tasks = new Set(this.dirtyTasks)
      for (const id of this.dirtyEntries) {
        const e = own(doc.mergeQueue, id)
        if (e === undefined) { this.waiting.delete(id); continue }
        this.noteEntry(id, e)
        tasks.add(read(e.taskId))
      }
      for (const id of this.dirtyAssignments) {
        const a = getIn(doc.assignments, id)
        if (a !== undefined) this.noteClaim(a.claimedAt)
      }
      for (const id of tasks) {
        const t = readTask(doc, id)
        if (t?.status === 'failed') this.failed.set(id, { id, epic: t.epic, title: t.title, reason: t.reason })
        else this.failed.delete(id)
        this.judgeEjected(id)
      }
    }
    this.dirtyTasks.clear()
    this.dirtyEntries.clear()
    this.dirtyAssignments.clear()
  }

  private noteClaim (at: number): void {
    if (this.lastClaimAt === null || at > this.lastClaimAt) this.lastClaimAt = at
  }

  private noteEntry (id: string, e: DocMergeEntry): void {
    const state = read(e.state)
    if (state === 'queued' || state === 'merging') this.waiting.set(id, e.enqueuedAt)
    else this.waiting.delete(id)
    if ((state === 'merged' || state === 'ejected') && (this.lastProgressAt === null || e.updatedAt > this.lastProgressAt)) this.lastProgressAt = e.updatedAt
    const taskId = read(e.taskId)
    const cur = this.latestEntry.get(taskId)
    if (cur === undefined || cur.id === id || e.enqueuedAt > cur.enqueuedAt || (e.enqueuedAt === cur.enqueuedAt && id > cur.id)) {
      this.latestEntry.set(taskId, { id, enqueuedAt: e.enqueuedAt, state, branch: read(e.branch), reason: readOpt(e.reason), output: readOpt(e.output) })
    }
  }

  /** A task alerts as ejected while its latest entry is ejected and the task is neither done nor cancelled. */
  private judgeEjected (taskId: string): void {
    const latest = this.latestEntry.get(taskId)
    const status = latest?.state === 'ejected' ? readTask(this.init.store.doc, taskId)?.status : undefined
    if (latest !== undefined && status !== undefined && status !== 'done' && status !== 'cancelled') {
      this.ejected.set(taskId, { taskId, branch: latest.branch, reason: latest.reason, output: latest.output })
    } else {
      this.ejected.delete(taskId)
    }
  }
}
