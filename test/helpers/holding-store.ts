import { MemoryChunkStore } from '../../crdt/storage/memory-chunk-store.js'

/** A memory store that counts writes and can hold them back, to see what one disk write carries and when. */
export class HoldingStore extends MemoryChunkStore {
  appends = 0
  compactions = 0
  private gate: Promise<void> | null = null
  private release: (() => void) | null = null
  /** Writes started from now on wait until letGo(). */
  hold (): void { this.gate = new Promise(resolve => { this.release = resolve }) }
  letGo (): void { this.release?.(); this.gate = null }
  override async append (chunk: Uint8Array): Promise<void> {
    this.appends++
    await this.gate
    await super.append(chunk)
  }

  override async compact (snapshot: Uint8Array, covered?: number): Promise<void> {
    this.compactions++
    await this.gate
    await super.compact(snapshot, covered)
  }
}
