import type * as A from '@automerge/automerge'
import { getIn, valuesOf } from './collections.js'
import { read, type DocEvidence, type FleetDoc } from './schema.js'

/** Where one piece of evidence sits in the index (the record itself stays in the document). */
export interface EvidenceRef {
  id: string
  taskId: string
  assignmentId: string
  createdAt: number
}

/** Newest first is (createdAt, id) descending; ties broken by id so every replica lists the same order. */
function before (a: EvidenceRef, b: EvidenceRef): boolean {
  return a.createdAt < b.createdAt || (a.createdAt === b.createdAt && a.id < b.id)
}

/**
 * Evidence by time and by task, so "the newest N" and "the evidence of task T" cost what they
 * return rather than a scan over all evidence. Evidence is immutable and never deleted, so the
 * index only grows: each change's patches name the new ids, which are read and inserted in order
 * (a binary search; remote evidence may be older than what is already here). A patch it cannot
 * place (or none yet) means a rebuild from the whole document on the next read.
 */
export class EvidenceIndex {
  private byTime: EvidenceRef[] = []
  private readonly byTask = new Map<string, EvidenceRef[]>()
  private readonly known = new Set<string>()
  private readonly pending = new Set<string>()
  private full = true

  constructor (private readonly docOf: () => A.Doc<FleetDoc>) {}

  /** Records which evidence a change touched (call with every change's patches). */
  notePatches (patches: readonly A.Patch[]): void {
    if (this.full) return
    for (const p of patches) {
      if (p.path[0] !== 'evidence') continue
      const id = p.path[2]
      if (typeof id !== 'string') { this.full = true; return }
      if (!this.known.has(id)) this.pending.add(id)
    }
  }

  /** Newest first: at most `limit` entries created after `since` (ms) that `accept` keeps. */
  newest (limit: number, since: number | null, accept: (e: EvidenceRef) => boolean): EvidenceRef[] {
    this.sync()
    const out: EvidenceRef[] = []
    for (let i = this.byTime.length - 1; i >= 0 && out.length < limit; i--) {
      const e = this.byTime[i] as EvidenceRef
      if (since !== null && e.createdAt <= since) break
      if (accept(e)) out.push(e)
    }
    return out
  }

  /** A task's evidence, oldest first. */
  ofTask (taskId: string): EvidenceRef[] {
    this.sync()
    return this.byTask.get(taskId) ?? []
  }

  size (): number {
    this.sync()
    return this.byTime.length
  }

  private sync (): void {
    const doc = this.docOf()
    if (this.full) {
      this.byTime = []
      this.byTask.clear()
      this.known.clear()
      this.pending.clear()
      for (const e of valuesOf(doc.evidence)) this.add(e, false)
      this.byTime.sort((a, b) => before(a, b) ? -1 : before(b, a) ? 1 : 0)
      for (const list of this.byTask.values()) list.sort((a, b) => before(a, b) ? -1 : before(b, a) ? 1 : 0)
      this.full = false
      return
    }
    for (const id of this.pending) {
      const e = getIn(doc.evidence, id)
      if (e !== undefined) this.add(e, true)
    }
    this.pending.clear()
  }

  private add (e: DocEvidence, ordered: boolean): void {
    const ref: EvidenceRef = { id: read(e.id), taskId: read(e.taskId), assignmentId: read(e.assignmentId), createdAt: e.createdAt }
    if (this.known.has(ref.id)) return
    this.known.add(ref.id)
    let list = this.byTask.get(ref.taskId)
    if (list === undefined) this.byTask.set(ref.taskId, list = [])
    if (ordered) {
      insertSorted(this.byTime, ref)
      insertSorted(list, ref)
    } else {
      this.byTime.push(ref)
      list.push(ref)
    }
  }
}

/** Inserts keeping (createdAt, id) order; new evidence is usually the newest, so this is an append. */
function insertSorted (list: EvidenceRef[], ref: EvidenceRef): void {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (before(list[mid] as EvidenceRef, ref)) lo = mid + 1
    else hi = mid
  }
  list.splice(lo, 0, ref)
}
