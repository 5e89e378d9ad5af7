import type { ClaimView } from './rules/claims.js'

/**
 * Assignment views with the indexes the services read per request and the coordination loops per
 * tick: by agent, held (pending or confirmed) by agent, and pending overall. Each is updated when
 * a task's assignments are re-derived, so no reader scans every assignment.
 */

export const ASSIGNMENT_STATES = ['pending', 'confirmed', 'lost', 'completed', 'released', 'expired', 'failed'] as const
export type AssignmentState = typeof ASSIGNMENT_STATES[number]

/**
 * An assignment as the projection shows it: the claim's fields (ClaimView, the settle rule's
 * input) with the state derived from them and the task, plus the work record.
 */
export interface AssignmentView extends Omit<ClaimView, 'state'> {
  claimedAt: number
  state: AssignmentState
  progress: number
  message: string | null
  summary: string | null
  endedAt: number | null
  reason: string | null
}

export function isHolding (a: AssignmentView): boolean {
  return a.state === 'pending' || a.state === 'confirmed'
}

export class AssignmentIndex {
  readonly byId = new Map<string, AssignmentView>()
  /** Per task, sorted by id (the same order whatever order the claims arrived in). */
  readonly byTask = new Map<string, AssignmentView[]>()
  readonly byAgent = new Map<string, Set<string>>()
  readonly heldByAgent = new Map<string, Set<string>>()
  /** Claimed and not yet settled. */
  readonly pending = new Set<string>()
  /** Pending or confirmed: what a lease can expire. */
  readonly holding = new Set<string>()

  /** Replaces the views of one task's assignments. */
  setTask (taskId: string, views: AssignmentView[]): void {
    for (const old of this.byTask.get(taskId) ?? []) {
      this.byId.delete(old.id)
      remove(this.byAgent, old.agentId, old.id)
      remove(this.heldByAgent, old.agentId, old.id)
      this.pending.delete(old.id)
      this.holding.delete(old.id)
    }
    if (views.length === 0) {
      this.byTask.delete(taskId)
      return
    }
    views.sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
    this.byTask.set(taskId, views)
    for (const v of views) {
      this.byId.set(v.id, v)
      add(this.byAgent, v.agentId, v.id)
      if (isHolding(v)) {
        add(this.heldByAgent, v.agentId, v.id)
        this.holding.add(v.id)
      }
      if (v.state === 'pending') this.pending.add(v.id)
    }
  }

  clear (): void {
    this.byId.clear()
    this.byTask.clear()
    this.byAgent.clear()
    this.heldByAgent.clear()
    this.pending.clear()
    this.holding.clear()
  }

  /** The assignment an agent holds; if a partition left it two, the earliest claim (then smallest id). */
  heldBy (agentId: string): AssignmentView | undefined {
    let best: AssignmentView | undefined
    for (const id of this.heldByAgent.get(agentId) ?? []) {
      const a = this.byId.get(id)
      if (a !== undefined && (best === undefined || a.claimedAt < best.claimedAt || (a.claimedAt === best.claimedAt && a.id < best.id))) best = a
    }
    return best
  }

  forAgent (agentId: string): AssignmentView[] {
    const out: AssignmentView[] = []
    for (const id of this.byAgent.get(agentId) ?? []) {
      const a = this.byId.get(id)
      if (a !== undefined) out.push(a)
    }
    return out
  }
}

function add (m: Map<string, Set<string>>, k: string, v: string): void {
  let s = m.get(k)
  if (s === undefined) m.set(k, s = new Set())
  s.add(v)
}

function remove (m: Map<string, Set<string>>, k: string, v: string): void {
  const s = m.get(k)
  if (s === undefined) return
  s.delete(v)
  if (s.size === 0) m.delete(k)
}
