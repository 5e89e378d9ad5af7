import type * as A from '@automerge/automerge'
import type { ProjectionCache } from '../../crdt/projection.js'
import { downstreamHours } from '../../plan/critical-path.js'

/**
 * Each task's downstream chain in hours (plan/critical-path.ts), kept for the availability order.
 * It depends only on task specs (hours, dependencies), so it is recomputed (linear in tasks plus
 * edges) only after a change touched a spec (plan import or revision, a task added or edited), on
 * the next read; claims, progress and merges touch task state and leave it as it is.
 */
export class DownstreamCache {
  private scores = new Map<string, number>()
  private stale = true

  constructor (private readonly projection: ProjectionCache) {}

  /** Call with every change's patches: a patch under `tasks` (the specs) marks the scores stale. */
  notePatches (patches: readonly A.Patch[]): void {
    if (this.stale) return
    for (const p of patches) {
      if (p.path[0] === 'tasks') { this.stale = true; return }
    }
  }

  get (): ReadonlyMap<string, number> {
    if (this.stale) {
      // Cancelled tasks will never run: they lengthen no chain.
      this.scores = downstreamHours(this.projection.get().tasks.filter(t => t.status !== 'cancelled'))
      this.stale = false
    }
    return this.scores
  }
}
