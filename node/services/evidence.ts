import { createHash, randomUUID } from 'node:crypto'
import { z } from 'zod'
import type { DocStore } from '../../crdt/doc-store.js'
import { getIn } from '../../crdt/collections.js'
import { addEvidence, type NewEvidence } from '../../crdt/mutations/records.js'
import { EvidenceIndex, type EvidenceRef } from '../../crdt/evidence-index.js'
import type { ProjectionCache } from '../../crdt/projection.js'
import { read, readOpt, type DocEvidence } from '../../crdt/schema.js'
import { IdSchema } from '../../plan/schema.js'
import { ConflictError, EvidenceTooLargeError, InvalidInputError } from '../../crdt/errors.js'
import { AssignmentId, fencedError } from './assignments.js'

export const MAX_EVIDENCE_BYTES = 64 * 1024
/** `GET /api/evidence` returns this many unless asked (`limit`), and never more than the maximum. */
export const DEFAULT_RECENT_EVIDENCE = 20
export const MAX_RECENT_EVIDENCE = 200
export const EVIDENCE_KINDS = ['test-output', 'commit', 'diff-stat', 'log', 'link'] as const

export const EvidenceInput = z.object({
  taskId: IdSchema,
  assignmentId: AssignmentId,
  kind: z.enum(EVIDENCE_KINDS),
  content: z.string().optional(),
  uri: z.string().url().max(2048).optional(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 is 64 lowercase hex characters').optional()
}).strict().refine(v => (v.content === undefined) !== (v.uri === undefined), 'give exactly one of content or uri')
export type EvidenceInput = z.infer<typeof EvidenceInput>

export interface EvidenceView extends NewEvidence {
  createdAt: number
}

export interface EvidenceServiceInit {
  store: DocStore
  projection: ProjectionCache
  /** The clock (epoch ms) writes are stamped with; default Date.now. */
  now?: () => number
}

/** Immutable evidence attached by the assignment that holds a task (fenced like every write). */
export class EvidenceService {
  private readonly index: EvidenceIndex
  private readonly now: () => number

  constructor (private readonly init: EvidenceServiceInit) {
    this.now = init.now ?? Date.now
    this.index = new EvidenceIndex(() => init.store.doc)
    // The index follows every change's patches, so reads never scan all evidence.
    init.store.on('change', (e) => { this.index.notePatches(e.patches) })
  }

  async add (input: EvidenceInput): Promise<EvidenceView> {
    const view = this.init.projection.get()
    const a = view.assignments.get(input.assignmentId)
    if (a === undefined || (a.state !== 'confirmed' && a.state !== 'completed')) throw fencedError(a, input.assignmentId)
    if (a.taskId !== input.taskId) throw new ConflictError(`assignment ${a.id} is for task ${a.taskId}, not ${input.taskId}`, { taskId: a.taskId })
    const body = input.content ?? input.uri ?? ''
    const bytes = Buffer.byteLength(body, 'utf8')
    if (input.content !== undefined && bytes > MAX_EVIDENCE_BYTES) throw new EvidenceTooLargeError(bytes, MAX_EVIDENCE_BYTES)
    const digest = createHash('sha256').update(body, 'utf8').digest('hex')
    if (input.sha256 !== undefined && input.sha256 !== digest) throw new InvalidInputError(`sha256 does not match the content (computed ${digest})`, { expected: input.sha256, computed: digest })
    const id = randomUUID()
    const evidence = { id, taskId: input.taskId, assignmentId: input.assignmentId, agentId: a.agentId, kind: input.kind, content: input.content ?? null, uri: input.uri ?? null, sha256: digest }
    const createdAt = this.now()
    await this.init.store.groupChange((d) => { addEvidence(d, evidence, createdAt) }, `evidence for ${input.taskId}`)
    return { ...evidence, createdAt }
  }

  /**
   * Evidence of a task, oldest first. Evidence written by an assignment that lost its task
   * (e.g. on the other side of a partition) arrives by replication but is fenced off here.
   */
  forTask (taskId: string, opts: { includeFenced?: boolean } = {}): EvidenceView[] {
    const visible = this.visible(opts.includeFenced === true)
    return this.index.ofTask(taskId).filter(visible).map(r => this.view(r)).filter((v): v is EvidenceView => v !== null)
  }

  /** The newest evidence of all tasks, newest first: at most `limit`, created after `since` (ms) if given. */
  recent (opts: { limit?: number, since?: number, includeFenced?: boolean } = {}): EvidenceView[] {
    const limit = Math.min(opts.limit ?? DEFAULT_RECENT_EVIDENCE, MAX_RECENT_EVIDENCE)
    return this.index.newest(limit, opts.since ?? null, this.visible(opts.includeFenced === true)).map(r => this.view(r)).filter((v): v is EvidenceView => v !== null)
  }

  private visible (includeFenced: boolean): (r: EvidenceRef) => boolean {
    if (includeFenced) return () => true
    const assignments = this.init.projection.get().assignments
    return (r) => {
      const state = assignments.get(r.assignmentId)?.state
      return state === 'confirmed' || state === 'completed'
    }
  }

  private view (r: EvidenceRef): EvidenceView | null {
    const e: DocEvidence | undefined = getIn(this.init.store.doc.evidence, r.id)
    if (e === undefined) return null
    return { id: r.id, taskId: r.taskId, assignmentId: r.assignmentId, agentId: read(e.agentId), kind: read(e.kind), content: readOpt(e.content), uri: readOpt(e.uri), sha256: read(e.sha256), createdAt: e.createdAt }
  }
}
