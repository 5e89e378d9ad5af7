import type * as A from '@automerge/automerge'
import { own } from '../../crdt/collections.js'
import { OrderedSet } from '../../crdt/ordered-set.js'
import { PatchKeys } from '../../crdt/patch-keys.js'
import type { FleetDoc } from '../../crdt/schema.js'
import { entryView, mergeOrder, MERGE_STATES, type MergeEntryView, type MergeState } from './merge-queue-view.js'

/**
 * The merge queue indexed for the leader and the API: entries in processing order, the active
 * ones (queued or merging) apart, entries per assignment, merged entries per task, counts per
 * state. Kept from change patches, so the leader's poke after every queue change and the
 * metrics scrape cost what changed, not the queue's whole history.
 */
export class MergeQueueIndex {
  private readonly patches = new PatchKeys('mergeQueue')
  private readonly entries = new Map<string, MergeEntryView>()
  private readonly all = new OrderedSet<MergeEntryView>(byOrder)
  private readonly active = new OrderedSet<MergeEntryView>(byOrder)
  private readonly byAssignment = new Map<string, Set<string>>()
  private readonly mergedByTask = new Map<string, Set<string>>()
  private readonly counts = Object.fromEntries(MERGE_STATES.map(s => [s, 0])) as Record<MergeState, number>

  constructor (private readonly docOf: () => A.Doc<FleetDoc>) {}

  notePatches (patches: readonly A.Patch[]): void {
    this.patches.note(patches)
  }

  get (id: string): MergeEntryView | undefined {
    this.refresh()
    return this.entries.get(id)
  }

  /** Every entry in processing order (most urgent, then first come). */
  inOrder (after?: MergeEntryView): Iterable<MergeEntryView> {
    this.refresh()
    return after === undefined ? this.all : this.all.after(after)
  }

  /** Queued and merging entries in processing order. */
  activeInOrder (): MergeEntryView[] {
    this.refresh()
    return [...this.active]
  }

  forAssignment (assignmentId: string): MergeEntryView[] {
    this.refresh()
    return [...this.byAssignment.get(assignmentId) ?? []].map(id => this.entries.get(id) as MergeEntryView).sort(mergeOrder)
  }

  /** The first merged entry of a task other than `except`, in processing order. */
  mergedFor (taskId: string, except?: string): MergeEntryView | undefined {
    this.refresh()
    return [...this.mergedByTask.get(taskId) ?? []].filter(id => id !== except).map(id => this.entries.get(id) as MergeEntryView).sort(mergeOrder)[0]
  }

  countsByState (): Record<MergeState, number> {
    this.refresh()
    return { ...this.counts }
  }

  private refresh (): void {
    const touched = this.patches.take()
    const doc = this.docOf()
    if (touched === 'full') {
      for (const id of [...this.entries.keys()]) this.put(id, undefined)
      for (const id of Object.keys(doc.mergeQueue)) this.put(id, own(doc.mergeQueue, id))
      return
    }
    for (const id of touched) this.put(id, own(doc.mergeQueue, id))
  }

  private put (id: string, raw: FleetDoc['mergeQueue'][string] | undefined): void {
    const old = this.entries.get(id)
    if (old !== undefined) {
      this.entries.delete(id)
      this.all.delete(old)
      this.active.delete(old)
      this.byAssignment.get(old.assignmentId)?.delete(id)
      this.mergedByTask.get(old.taskId)?.delete(id)
      if (old.state in this.counts) this.counts[old.state]--
    }
    if (raw === undefined) return
    const e = entryView(raw)
    this.entries.set(id, e)
    this.all.add(e)
    if (e.state === 'queued' || e.state === 'merging') this.active.add(e)
    addTo(this.byAssignment, e.assignmentId, id)
    if (e.state === 'merged') addTo(this.mergedByTask, e.taskId, id)
    if (e.state in this.counts) this.counts[e.state]++
  }
}

/** mergeOrder, with an entry equal to itself (mergeOrder never answers 0, a set must find what it holds). */
function byOrder (a: MergeEntryView, b: MergeEntryView): number {
  return a.id === b.id ? 0 : mergeOrder(a, b)
}

function addTo (m: Map<string, Set<string>>, k: string, v: string): void {
  let s = m.get(k)
  if (s === undefined) m.set(k, s = new Set())
  s.add(v)
}
