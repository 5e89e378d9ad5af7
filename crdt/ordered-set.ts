/**
 * A sorted set kept in blocks of bounded size: insert and delete cost O(log n + block size),
 * never a re-sort of everything, and iteration is in order. The projection keeps its plan order
 * and its per-role availability in these, so one new task does not re-sort 100,000.
 */

export const DEFAULT_BLOCK_SIZE = 512

export type Compare<K> = (a: K, b: K) => number

export class OrderedSet<K> {
  private blocks: K[][] = []
  private count = 0

  constructor (private readonly compare: Compare<K>, private readonly blockSize = DEFAULT_BLOCK_SIZE) {}

  get size (): number { return this.count }

  /** Adds the key; false if an equal key (compare 0) is already there. */
  add (key: K): boolean {
    if (this.blocks.length === 0) {
      this.blocks.push([key])
      this.count = 1
      return true
    }
    const b = this.blockFor(key)
    const block = this.blocks[b] as K[]
    const i = this.lowerBound(block, key)
    if (i < block.length && this.compare(block[i] as K, key) === 0) return false
    block.splice(i, 0, key)
    this.count++
    // Split a full block in two: both halves stay sorted and in place.
    if (block.length > 2 * this.blockSize) this.blocks.splice(b + 1, 0, block.splice(this.blockSize))
    return true
  }

  /** Removes the key that compares equal to `key`; false if there is none. */
  delete (key: K): boolean {
    if (this.blocks.length === 0) return false
    const b = this.blockFor(key)
    const block = this.blocks[b] as K[]
    const i = this.lowerBound(block, key)
    if (i >= block.length || this.compare(block[i] as K, key) !== 0) return false
    block.splice(i, 1)
    this.count--
    if (block.length === 0) this.blocks.splice(b, 1)
    return true
  }

  /**
   * Fills an empty set with these keys in one sort (a full build): 100,000 adds cost a binary
   * search and a block shift each. Of keys comparing equal the first is kept, as add() would.
   */
  load (keys: K[]): void {
    if (this.count > 0) throw new Error('OrderedSet.load needs an empty set')
    // Array sort is stable: of equal keys the first given stays first.
    const sorted = [...keys].sort(this.compare)
    const unique: K[] = []
    for (const k of sorted) if (unique.length === 0 || this.compare(unique[unique.length - 1] as K, k) !== 0) unique.push(k)
    for (let i = 0; i < unique.length; i += this.blockSize) this.blocks.push(unique.slice(i, i + this.blockSize))
    this.count = unique.length
  }

  clear (): void {
    this.blocks = []
    this.count = 0
  }

  * [Symbol.iterator] (): Generator<K> {
    for (const block of this.blocks) yield * block
  }

  /** Keys strictly after `key` (which need not be in the set), in order. */
  * after (key: K): Generator<K> {
    if (this.blocks.length === 0) return
    let b = this.blockFor(key)
    const first = this.blocks[b] as K[]
    let i = this.lowerBound(first, key)
    if (i < first.length && this.compare(first[i] as K, key) === 0) i++
    for (; b < this.blocks.length; b++, i = 0) {
      const block = this.blocks[b] as K[]
      for (; i < block.length; i++) yield block[i] as K
    }
  }

  /** The block whose range holds `key`: the first whose last key is >= key (else the last block). */
  private blockFor (key: K): number {
    let lo = 0
    let hi = this.blocks.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const block = this.blocks[mid] as K[]
      if (this.compare(block[block.length - 1] as K, key) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  private lowerBound (block: readonly K[], key: K): number {
    let lo = 0
    let hi = block.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.compare(block[mid] as K, key) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
