import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import type { DocStore } from '../../crdt/doc-store.js'
import { ejectMerge, enqueueMerge, markMerged, markMerging } from '../../crdt/mutations/merge-queue.js'
import type { ProjectionCache } from '../../crdt/projection.js'
import { IdSchema } from '../../plan/schema.js'
import { ConflictError, NotFoundError } from '../../crdt/errors.js'
import { decodeCursor, takePage, type Page, type PageQuery } from './paging.js'
import { AssignmentId, fencedError } from './assignments.js'
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
  /** The clock (epoch ms) writes are stamped with; default Date.now. */
  now?: () => number
}

/** The merge queue in the document; the leader's runner (node/git) drains it. */
export class MergeQueueService {
  private readonly index: MergeQueueIndex
  private readonly now: () => number

  constructor (private readonly init: MergeQueueServiceInit) {
    this.now = init.now ?? Date.now
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
    if (a === undefined || (a.state !== 'confirmed' && a.state !== 'completed')) throw fencedError(a, input.assignmentId)
    if (a.taskId !== input.taskId) throw new ConflictError(`assignment ${a.id} is for task ${a.taskId}, not ${input.taskId}`, { taskId: a.taskId })
    const existing = this.index.forAssignment(input.assignmentId).find(e => e.branch === input.branch && e.state !== 'ejected')
    if (existing !== undefined) return { entry: existing, created: false }
    const id = randomUUID()
    const entry = {
      id,
      taskId: input.taskId,
      assignmentId: input.assignmentId,
      agentId: a.agentId,
      branch: input.branch,
      commit: input.commit ?? null,
      priority: input.priority ?? view.taskById.get(input.taskId)?.priority ?? 0
    }
    const now = this.now()
    await this.init.store.change((d) => { enqueueMerge(d, entry, now) }, `enqueue ${input.branch}`)
    return { entry: this.get(id), created: true }
  }

  async markMerging (id: string, leader: string): Promise<void> {
    const now = this.now()
    await this.init.store.change((d) => { markMerging(d, id, leader, now) }, `merging ${id}`)
  }

  /** Merged: the entry records the sha of main after the push, and the task is done. */
  async markMerged (id: string, sha: string, leader?: string): Promise<MergeEntryView> {
    const entry = this.get(id)
    const now = this.now()
    await this.init.store.change((d) => { markMerged(d, { id, taskId: entry.taskId, sha, ...(leader === undefined ? {} : { leader }) }, now) }, `merged ${id}`)
    return this.get(id)
  }

  /** Ejected (conflict, failing check, fenced): see ejectMerge in crdt/mutations/merge-queue.ts. */
  async eject (id: string, reason: string, output = '', leader?: string, opts: { reopen: boolean } = { reopen: true }): Promise<MergeEntryView> {
    const entry = this.get(id)
    const tail = output.length > MAX_MERGE_OUTPUT ? output.slice(-MAX_MERGE_OUTPUT) : output
    const now = this.now()
    const ejection = { id, taskId: entry.taskId, assignmentId: entry.assignmentId, branch: entry.branch, reason, output: tail, reopen: opts.reopen, ...(leader === undefined ? {} : { leader }) }
    await this.init.store.change((d) => { ejectMerge(d, ejection, now) }, `ejected ${id}`)
    return this.get(id)
  }

  async complete (id: string, input: CompleteMergeInput): Promise<MergeEntryView> {
    const e = this.get(id)
    if (e.state === 'merged' || e.state === 'ejected') throw new ConflictError(`merge queue entry ${id} is already ${e.state}`, { state: e.state })
    return 'sha' in input ? await this.markMerged(id, input.sha) : await this.eject(id, input.ejected, input.output ?? '')
  }
}
