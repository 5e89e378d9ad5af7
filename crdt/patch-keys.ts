import type * as A from '@automerge/automerge'
import { BUCKETED_COLLECTIONS } from './schema.js'

const bucketed = new Set<string>(BUCKETED_COLLECTIONS)

/**
 * Keeps a derived index in step with a document collection from change patches: the keys of the
 * collection's entries a change touched (the id sits at depth 2 in bucketed collections, 1 in
 * flat ones). A patch above an entry (a whole bucket or the collection replaced) cannot be placed:
 * then the index must be rebuilt from the document.
 */
export class PatchKeys {
  readonly keys = new Set<string>()
  /** True until the first rebuild, and again after a patch that could not be placed. */
  full = true
  private readonly depth: number

  constructor (readonly collection: string) {
    this.depth = bucketed.has(collection) ? 2 : 1
  }

  note (patches: readonly A.Patch[]): void {
    if (this.full) return
    for (const p of patches) {
      if (p.path[0] !== this.collection) continue
      const key = p.path[this.depth]
      if (typeof key !== 'string') {
        this.full = true
        this.keys.clear()
        return
      }
      this.keys.add(key)
    }
  }

  /** Takes what was noted: 'full' for a rebuild, else the touched keys. */
  take (): 'full' | Set<string> {
    if (this.full) {
      this.full = false
      this.keys.clear()
      return 'full'
    }
    const out = new Set(this.keys)
    this.keys.clear()
    return out
  }
}
