import { planOrder, urgency } from './rules/availability.js'
import { OrderedSet } from './ordered-set.js'
import { countTask, emptyCounts, type TaskCounts } from './task-counts.js'
import type { TaskStatus } from './schema.js'

/**
 * The projection's task indexes, updated one task at a time: plan order, per-status and per-epic
 * counts, and the ready tasks per role in urgency order (priority, downstream chain, plan order).
 * Each put/remove costs O(log n) plus a block shift, never a pass over every task.
 */

export interface IndexedTask {
  id: string
  status: TaskStatus
  order: number
  priority: number
  role: string | null
  epic: string | null
  estimatedHours: number
  dependsOn: readonly string[]
}

export interface OrderKey { id: string, order: number }
/** The urgency order's fields (rules/availability.ts): the ready index's key and its paging cursor. */
export interface UrgencyKey { id: string, order: number, priority: number, downstreamHours: number }

export class TaskIndex<T extends IndexedTask> {
  readonly byId = new Map<string, T>()
  readonly counts: TaskCounts = emptyCounts()
  private readonly order = new OrderedSet<OrderKey>(planOrder)
  private readonly orderKey = new Map<string, OrderKey>()
  /** Pending tasks whose dependencies are all done (the retry backoff is applied when reading). */
  private readonly readyAll = new OrderedSet<UrgencyKey>(urgency)
  private readonly readyNoRole = new OrderedSet<UrgencyKey>(urgency)
  private readonly readyByRole = new Map<string, OrderedSet<UrgencyKey>>()
  private readonly readyKey = new Map<string, { key: UrgencyKey, role: string | null }>()

  /**
   * `downstream`: each task's downstream chain in hours (rules/chains.ts), part of the ready key.
   * Whoever changes a figure calls refreshReady for that task, which re-keys it.
   */
  constructor (private readonly downstream: ReadonlyMap<string, number> = new Map()) {}

  get size (): number { return this.byId.size }

  /** Sets a task's state (or removes it with undefined) and updates every index but readiness. */
  put (id: string, t: T | undefined): void {
    const old = this.byId.get(id)
    if (old === t) return
    if (old !== undefined) countTask(this.counts, old, -1)
    if (t === undefined) {
      this.byId.delete(id)
      const k = this.orderKey.get(id)
      if (k !== undefined) this.order.delete(k)
      this.orderKey.delete(id)
      this.setReady(id, undefined)
      return
    }
    this.byId.set(id, t)
    countTask(this.counts, t, 1)
    const k = this.orderKey.get(id)
    if (k === undefined || k.order !== t.order) {
      if (k !== undefined) this.order.delete(k)
      const nk = { id, order: t.order }
      this.order.add(nk)
      this.orderKey.set(id, nk)
    }
  }

  /**
   * Fills an empty index (a full build): the same as put() of each task, the plan order sorted
   * once. Readiness is left to refreshReady, as with put().
   */
  load (tasks: Iterable<T>): void {
    if (this.byId.size > 0) throw new Error('TaskIndex.load needs an empty index')
    const keys: OrderKey[] = []
    for (const t of tasks) {
      const id = t.id
      this.byId.set(id, t)
      countTask(this.counts, t, 1)
      const k = { id, order: t.order }
      keys.push(k)
      this.orderKey.set(id, k)
    }
    this.order.load(keys)
  }

  /** Re-derives whether a task is ready: pending (not blocked) and every dependency done. */
  refreshReady (id: string): void {
    const t = this.byId.get(id)
    const ready = t !== undefined && t.status === 'pending' && t.dependsOn.every(d => this.byId.get(d)?.status === 'done')
    this.setReady(id, ready ? t : undefined)
  }

  /** Tasks in plan order. */
  * inOrder (): Generator<T> {
    for (const k of this.order) yield this.byId.get(k.id) as T
  }

  /** Tasks in plan order strictly after the given position (a page cursor). */
  * inOrderAfter (cursor: OrderKey): Generator<T> {
    for (const k of this.order.after(cursor)) yield this.byId.get(k.id) as T
  }

  /**
   * Ready tasks a role may take (its own and role-less ones; every one without a role given), most
   * urgent first; with `after`, only those after that position (a page cursor).
   */
  * ready (role?: string, after?: UrgencyKey): Generator<T> {
    const from = (set: OrderedSet<UrgencyKey> | undefined): Iterable<UrgencyKey> => set === undefined ? [] : after === undefined ? set : set.after(after)
    const keys = role === undefined ? from(this.readyAll) : mergeSorted(from(this.readyByRole.get(role)), from(this.readyNoRole), urgency)
    for (const k of keys) yield this.byId.get(k.id) as T
  }

  private setReady (id: string, t: T | undefined): void {
    const had = this.readyKey.get(id)
    const downstreamHours = this.downstream.get(id) ?? 0
    if (had !== undefined && t !== undefined && had.role === t.role && had.key.priority === t.priority && had.key.order === t.order && had.key.downstreamHours === downstreamHours) return
    if (had !== undefined) {
      this.readyAll.delete(had.key)
      this.roleSet(had.role)?.delete(had.key)
      this.readyKey.delete(id)
    }
    if (t === undefined) return
    const key = { id, order: t.order, priority: t.priority, downstreamHours }
    this.readyAll.add(key)
    let set = this.roleSet(t.role)
    if (set === undefined) this.readyByRole.set(t.role as string, set = new OrderedSet<UrgencyKey>(urgency))
    set.add(key)
    this.readyKey.set(id, { key, role: t.role })
  }

  private roleSet (role: string | null): OrderedSet<UrgencyKey> | undefined {
    return role === null ? this.readyNoRole : this.readyByRole.get(role)
  }
}

function * mergeSorted<K> (a: Iterable<K>, b: Iterable<K>, compare: (x: K, y: K) => number): Generator<K> {
  const ia = a[Symbol.iterator]()
  const ib = b[Symbol.iterator]()
  let x = ia.next()
  let y = ib.next()
  while (x.done !== true || y.done !== true) {
    if (y.done === true || (x.done !== true && compare(x.value, y.value) <= 0)) {
      yield x.value as K
      x = ia.next()
    } else {
      yield y.value
      y = ib.next()
    }
  }
}
