import * as A from '@automerge/automerge'
import { Worker } from 'node:worker_threads'

/**
 * Compaction: one snapshot from the stored snapshot and the chunks saved after it. A pure
 * function of those bytes, so it can run in a worker thread (Compactor) while the node keeps
 * serving; the result loads to the same document as the bytes it was made from.
 */

export interface CompactRequest {
  id: number
  snapshot: Uint8Array | null
  chunks: Uint8Array[]
}

export type CompactReply = { id: number, snapshot: Uint8Array } | { id: number, error: string }

export function snapshotOf (snapshot: Uint8Array | null, chunks: readonly Uint8Array[]): Uint8Array {
  let doc = snapshot === null ? A.init<unknown>() : A.load<unknown>(snapshot)
  for (const c of chunks) doc = A.loadIncremental(doc, c)
  return A.save(doc)
}

export class CompactionError extends Error {
  override name = 'CompactionError'
  readonly code = 'COMPACTION_FAILED'
}

/** Runs compactions in one long-lived worker thread (started on first use, not keeping the process alive). */
export class Compactor {
  private worker: Worker | null = null
  private nextId = 1
  private readonly waiting = new Map<number, { resolve: (s: Uint8Array) => void, reject: (e: Error) => void }>()

  async compact (snapshot: Uint8Array | null, chunks: readonly Uint8Array[]): Promise<Uint8Array> {
    const w = this.start()
    const id = this.nextId++
    return await new Promise<Uint8Array>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject })
      const req: CompactRequest = { id, snapshot, chunks: [...chunks] }
      w.postMessage(req)
    })
  }

  async close (): Promise<void> {
    const w = this.worker
    this.worker = null
    if (w !== null) await w.terminate()
    this.failAll(new CompactionError('the compactor was closed'))
  }

  private start (): Worker {
    if (this.worker !== null) return this.worker
    const w = new Worker(new URL('./compact-worker.js', import.meta.url))
    w.unref()
    w.on('message', (r: CompactReply) => {
      const p = this.waiting.get(r.id)
      if (p === undefined) return
      this.waiting.delete(r.id)
      if ('error' in r) p.reject(new CompactionError(r.error))
      else p.resolve(r.snapshot)
    })
    w.on('error', (err) => {
      this.worker = null
      this.failAll(new CompactionError(`compaction worker failed: ${err.message}`))
    })
    w.on('exit', () => {
      if (this.worker === w) this.worker = null
      this.failAll(new CompactionError('compaction worker exited'))
    })
    this.worker = w
    return w
  }

  private failAll (err: Error): void {
    for (const p of this.waiting.values()) p.reject(err)
    this.waiting.clear()
  }
}
