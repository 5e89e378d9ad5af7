import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import type { DocStore } from '../../crdt/doc-store.js'
import { getIn, own } from '../../crdt/collections.js'
import type { ProjectionCache } from '../../crdt/projection.js'
import { read, str } from '../../crdt/schema.js'
import { readTask, writeTaskState } from '../../crdt/task-records.js'
import { IdSchema } from '../../plan/schema.js'
import { ConflictError, NotFoundError } from '../http/errors.js'
import { decodeCursor, takePage, type Page, type PageQuery } from '../http/paging.js'
import { AssignmentId, FencedError } from './assignments.js'
import { MergeQueueIndex } from './merge-queue-index.js'
import { type MergeEntryView, type MergeState } from './merge-queue-view.js'

export { MERGE_STATES, mergeOrder, type MergeEntryView, type MergeState } from './merge-queue-view.js'

/** Output tails kept in the document are bounded: the full log belongs to the check's own output. */
export const MAX_MERGE_OUTPUT = 8 * 1024

const branchName = z.string().min(1).max(200).regex(/^(?!-)(?!.*\.\.)(?!.*\/\/)[A-Za-z0-9._\/-]+(?<![./])$/, 'not a valid branch name')

export const EnqueueInput = z.object({
  taskId: IdSchema,
  assignmentId: AssignmentId,
  branch: branchName,
  commit: z.string().regex(/^[0-9a-f]{40}$/, 'a full 40-character commit sha').optional(),
  priority: z.number().int().min(-1000).max(1000).optional()
}).strict()
export type EnqueueInput = z.infer<typeof EnqueueInput>

export const CompleteMergeInput = z.union([
  z.object({ sha: z.string().regex(/^[0-9a-f]{40}$/, 'a full 40-character commit sha') }).strict(),
  z.object({ ejected: z.string().min(1).max(4000), output: z.string().max(MAX_MERGE_OUTPUT * 4).optional() }).strict()
])
export type CompleteMergeInput = z.infer<typeof CompleteMergeInput>

export interface MergeQueueServiceInit {
  store: DocStore
  projection: ProjectionCache
}

/** The merge queue in the document; the leader's runner (node/git) drains it. */
export class MergeQueueService {
  private readonly index: MergeQueueIndex

  constructor (private readonly init: MergeQueueServiceInit) {
    this.index = new MergeQueueIndex(() => init.store.doc)
    init.store.on('change', (e) => { this.index.notePatches(e.patches) })
  }

  /** Every entry, most urgent first, then first come. */
  list (): MergeEntryView[] {
    return this.listPage().items
  }

  listPage (page: PageQuery = {}): Page<MergeEntryView> {
    let after: MergeEntryView | undefined
    if (page.cursor !== undefined) {
      const [priority, enqueuedAt, id] = decodeCursor(page.cursor, 'nns') as [number, number, string]
      after = { priority, enqueuedAt, id } as MergeEntryView
    }
    return takePage(this.index.inOrder(after), page.limit, e => [e.priority, e.enqueuedAt, e.id])
  }

  /** Queued and merging entries in processing order (what the leader works through). */
  active (): MergeEntryView[] {
    return this.index.activeInOrder()
  }

  /** Another entry of the task that is already merged, if any. */
  mergedFor (taskId: string, except?: string): MergeEntryView | undefined {
    return this.index.mergedFor(taskId, except)
  }

  /** The entries of one assignment, in processing order. */
  forAssignment (assignmentId: string): MergeEntryView[] {
    return this.index.forAssignment(assignmentId)
  }

  countsByState (): Record<MergeState, number> {
    return this.index.countsByState()
  }

  get (id: string): MergeEntryView {
    const e = this.index.get(id)
    if (e === undefined) throw new NotFoundError(`merge queue entry ${id} not found`, { id })
    return e
  }

  /** Enqueues the branch of the assignment holding the task; the same branch twice returns the entry already queued. */
  async enqueue (input: EnqueueInput): Promise<{ entry: MergeEntryView, created: boolean }> {
    const view = this.init.projection.get()
    const a = view.assignments.get(input.assignmentId)
    if (a === undefined || (a.state !== 'confirmed' && a.state !== 'completed')) throw new FencedError(a, input.assignmentId)
    if (a.taskId !== input.taskId) throw new ConflictError(`assignment ${a.id} is for task ${a.taskId}, not ${input.taskId}`, { taskId: a.taskId })
    const existing = this.index.forAssignment(input.assignmentId).find(e => e.branch === input.branch && e.state !== 'ejected')
    if (existing !== undefined) return { entry: existing, created: false }
    const id = randomUUID()
    const now = Date.now()
    await this.init.store.change((d) => {
      d.mergeQueue[id] = {
        id: str(id),
        taskId: str(input.taskId),
        assignmentId: str(input.assignmentId),
        agentId: str(a.agentId),
        branch: str(input.branch),
        commit: input.commit === undefined ? null : str(input.commit),
        priority: input.priority ?? view.taskById.get(input.taskId)?.priority ?? 0,
        enqueuedAt: now,
        state: str('queued'),
        sha: null,
        reason: null,
        output: null,
        leader: null,
        updatedAt: now
      }
    }, `enqueue ${input.branch}`)
    return { entry: this.get(id), created: true }
  }

  async markMerging (id: string, leader: string): Promise<void> {
    await this.init.store.change((d) => {
      const e = own(d.mergeQueue, id)
      if (e === undefined || read(e.state) === 'merged' || read(e.state) === 'ejected') return
      e.state = str('merging')
      e.leader = str(leader)
      e.updatedAt = Date.now()
    }, `merging ${id}`)
  }

  /** Merged: the entry records the sha of main after the push, and the task is done. */
  async markMerged (id: string, sha: string, leader?: string): Promise<MergeEntryView> {
    const entry = this.get(id)
    await this.init.store.change((d) => {
      const e = own(d.mergeQueue, id)
      if (e === undefined) return
      e.state = str('merged')
      e.sha = str(sha)
      e.reason = null
      if (leader !== undefined) e.leader = str(leader)
      e.updatedAt = Date.now()
      const t = readTask(d, entry.taskId)
      if (t !== undefined && t.status !== 'cancelled') writeTaskState(d, entry.taskId, { status: 'done', reason: null, updatedAt: Date.now() })
    }, `merged ${id}`)
    return this.get(id)
  }

  /**
   * Ejected (conflict, failing check, fenced): the reason and output tail are kept, and the task
   * goes back to pending on a new attempt so the next agent sees why. With `reopen: false` (the
   * task is already on main through another entry) a task in review is done instead.
   */
  async eject (id: string, reason: string, output = '', leader?: string, opts: { reopen: boolean } = { reopen: true }): Promise<MergeEntryView> {
    const entry = this.get(id)
    const tail = output.length > MAX_MERGE_OUTPUT ? output.slice(-MAX_MERGE_OUTPUT) : output
    await this.init.store.change((d) => {
      const e = own(d.mergeQueue, id)
      if (e === undefined || read(e.state) === 'merged') return
      e.state = str('ejected')
      e.reason = str(reason)
      e.output = str(tail)
      if (leader !== undefined) e.leader = str(leader)
      e.updatedAt = Date.now()
      const t = readTask(d, entry.taskId)
      const a = getIn(d.assignments, entry.assignmentId)
      // Only the attempt that produced this branch is sent back; a newer attempt is left alone.
      if (t === undefined || a === undefined || t.attempt !== a.attempt || (t.status !== 'review' && t.status !== 'pending')) return
      if (opts.reopen) {
        writeTaskState(d, entry.taskId, { status: 'pending', attempt: t.attempt + 1, reason: `merge of ${entry.branch} ejected: ${reason}`, updatedAt: Date.now() })
      } else if (t.status === 'review') {
        // The task is on main through another entry (e.g. the other side of a partition merged
        // it): it is done. Written here too, so that when this side's 'review' meets the other
        // side's 'done' after a heal, both concurrent values of the status say 'done'.
        writeTaskState(d, entry.taskId, { status: 'done', reason: null, updatedAt: Date.now() })
      }
    }, `ejected ${id}`)
    return this.get(id)
  }

  async complete (id: string, input: CompleteMergeInput): Promise<MergeEntryView> {
    const e = this.get(id)
    if (e.state === 'merged' || e.state === 'ejected') throw new ConflictError(`merge queue entry ${id} is already ${e.state}`, { state: e.state })
    return 'sha' in input ? await this.markMerged(id, input.sha) : await this.eject(id, input.ejected, input.output ?? '')
  }
}
