import { createHash, randomUUID } from 'node:crypto'
import { z } from 'zod'
import type { DocStore } from '../../crdt/doc-store.js'
import { getIn, putIn, valuesOf } from '../../crdt/collections.js'
import { PatchKeys } from '../../crdt/patch-keys.js'
import type { ProjectionCache } from '../../crdt/projection.js'
import { read, readOpt, str } from '../../crdt/schema.js'
import { IdSchema } from '../../plan/schema.js'
import { BadRequestError, ConflictError, HttpError } from '../http/errors.js'
import { AssignmentId, FencedError } from './assignments.js'

export const MAX_EVIDENCE_BYTES = 64 * 1024
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

export class EvidenceTooLargeError extends HttpError {
  override name = 'EvidenceTooLargeError'
  constructor (bytes: number) {
    super(413, `evidence content is ${bytes} bytes; the limit is ${MAX_EVIDENCE_BYTES} (64 KiB). Put large artifacts in git and attach a commit or link instead`, { bytes, limit: MAX_EVIDENCE_BYTES })
  }
}

export interface EvidenceView {
  id: string
  taskId: string
  assignmentId: string
  agentId: string
  kind: string
  content: string | null
  uri: string | null
  sha256: string
  createdAt: number
}

export interface EvidenceServiceInit {
  store: DocStore
  projection: ProjectionCache
}

/** Immutable evidence attached by the assignment that holds a task (fenced like every write). */
export class EvidenceService {
  private readonly patches = new PatchKeys('evidence')
  /** Evidence ids per task, kept from change patches: a task's evidence without a pass over all of it. */
  private readonly byTask = new Map<string, Set<string>>()

  constructor (private readonly init: EvidenceServiceInit) {
    init.store.on('change', (e) => { this.patches.note(e.patches) })
  }

  private idsOf (taskId: string): ReadonlySet<string> {
    const touched = this.patches.take()
    const doc = this.init.store.doc
    if (touched === 'full') {
      this.byTask.clear()
      for (const e of valuesOf(doc.evidence)) this.index(read(e.id), read(e.taskId))
    } else {
      // Evidence is immutable: a touched id is a new entry.
      for (const id of touched) {
        const e = getIn(doc.evidence, id)
        if (e !== undefined) this.index(id, read(e.taskId))
      }
    }
    return this.byTask.get(taskId) ?? new Set()
  }

  private index (id: string, taskId: string): void {
    let set = this.byTask.get(taskId)
    if (set === undefined) this.byTask.set(taskId, set = new Set())
    set.add(id)
  }

  async add (input: EvidenceInput): Promise<EvidenceView> {
    const view = this.init.projection.get()
    const a = view.assignments.get(input.assignmentId)
    if (a === undefined || (a.state !== 'confirmed' && a.state !== 'completed')) throw new FencedError(a, input.assignmentId)
    if (a.taskId !== input.taskId) throw new ConflictError(`assignment ${a.id} is for task ${a.taskId}, not ${input.taskId}`, { taskId: a.taskId })
    const body = input.content ?? input.uri ?? ''
    const bytes = Buffer.byteLength(body, 'utf8')
    if (input.content !== undefined && bytes > MAX_EVIDENCE_BYTES) throw new EvidenceTooLargeError(bytes)
    const digest = createHash('sha256').update(body, 'utf8').digest('hex')
    if (input.sha256 !== undefined && input.sha256 !== digest) throw new BadRequestError(`sha256 does not match the content (computed ${digest})`, { expected: input.sha256, computed: digest })
    const id = randomUUID()
    const createdAt = Date.now()
    await this.init.store.change((d) => {
      putIn(d.evidence, id, {
        id: str(id),
        taskId: str(input.taskId),
        assignmentId: str(input.assignmentId),
        agentId: str(a.agentId),
        kind: str(input.kind),
        content: input.content === undefined ? null : str(input.content),
        uri: input.uri === undefined ? null : str(input.uri),
        sha256: str(digest),
        createdAt
      })
    }, `evidence for ${input.taskId}`)
    return { id, taskId: input.taskId, assignmentId: input.assignmentId, agentId: a.agentId, kind: input.kind, content: input.content ?? null, uri: input.uri ?? null, sha256: digest, createdAt }
  }

  /**
   * Evidence of a task, oldest first. Evidence written by an assignment that lost its task
   * (e.g. on the other side of a partition) arrives by replication but is fenced off here.
   */
  forTask (taskId: string, opts: { includeFenced?: boolean } = {}): EvidenceView[] {
    const assignments = this.init.projection.get().assignments
    const out: EvidenceView[] = []
    for (const id of this.idsOf(taskId)) {
      const e = getIn(this.init.store.doc.evidence, id)
      if (e === undefined || read(e.taskId) !== taskId) continue
      const state = assignments.get(read(e.assignmentId))?.state
      if (opts.includeFenced !== true && state !== 'confirmed' && state !== 'completed') continue
      out.push({ id: read(e.id), taskId, assignmentId: read(e.assignmentId), agentId: read(e.agentId), kind: read(e.kind), content: readOpt(e.content), uri: readOpt(e.uri), sha256: read(e.sha256), createdAt: e.createdAt })
    }
    return out.sort((a, b) => a.createdAt - b.createdAt)
  }
}
