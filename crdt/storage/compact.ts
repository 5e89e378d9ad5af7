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

/**
 * Works on Automerge's backend alone, and loads every change in one call into an empty backend.
 * Measured at 30,000 tasks (a snapshot of two thirds of the plan plus the chunks of the rest, what
 * a peer receiving an import compacts): loading the chunks on top of the loaded snapshot took 5 s
 * and 490 MB of WebAssembly memory in the worker (43 s and 830 MB with the chunks concatenated),
 * against 2.4 s and a few MB when the snapshot is first turned back into its changes and every
 * change is loaded at once (Automerge's load of an empty document). A.load/A.loadIncremental also
 * built the JS view and its patches, which a snapshot never reads. Backends are freed at once.
 */
export function snapshotOf (snapshot: Uint8Array | null, chunks: readonly Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = []
  if (snapshot !== null) {
    const base = A.getBackend(A.init<unknown>())
    try {
      base.loadIncremental(snapshot)
      parts.push(...base.getChanges([]))
    } finally {
      base.free()
    }
  }
  parts.push(...chunks)
  const all = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) { all.set(p, at); at += p.byteLength }
  const backend = A.getBackend(A.init<unknown>())
  try {
    backend.loadIncremental(all)
    return backend.save()
  } finally {
    backend.free()
  }
}

export class CompactionError extends Error {
  override name = 'CompactionError'
  readonly code = 'COMPACTION_FAILED'
}

/**
 * How long an idle compaction worker lives: not at all by default. The worker loads the whole
 * document into its own Automerge (WebAssembly memory, which never shrinks) and its own V8 heap.
 * Kept alive across the compactions of a growing document (a peer receiving a large import), its
 * WebAssembly memory only grew, fragmented: 8 compactions up to 30,000 tasks left one worker at
 * 780 MB where a fresh one needs 230 MB (issue 11). Starting a worker costs tens of ms, against
 * seconds of compaction.
 */
export const DEFAULT_COMPACTOR_IDLE_MS = 0

export interface CompactorInit {
  /** Terminate the worker after this long without work (default DEFAULT_COMPACTOR_IDLE_MS). */
  idleMs?: number
}

/** Runs compactions in a worker thread (started on first use, not keeping the process alive, ended when idle). */
export class Compactor {
  private worker: Worker | null = null
  private nextId = 1
  private readonly waiting = new Map<number, { resolve: (s: Uint8Array) => void, reject: (e: Error) => void }>()
  private readonly idleMs: number
  private idleTimer: NodeJS.Timeout | null = null

  constructor (init: CompactorInit = {}) {
    this.idleMs = init.idleMs ?? DEFAULT_COMPACTOR_IDLE_MS
  }

  /** Whether a worker thread is alive now (it ends after idleMs without work). */
  get running (): boolean { return this.worker !== null }

  async compact (snapshot: Uint8Array | null, chunks: readonly Uint8Array[]): Promise<Uint8Array> {
    this.cancelIdle()
    const w = this.start()
    const id = this.nextId++
    return await new Promise<Uint8Array>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject })
      const req: CompactRequest = { id, snapshot, chunks: [...chunks] }
      w.postMessage(req)
    })
  }

  async close (): Promise<void> {
    this.cancelIdle()
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
      if (this.waiting.size === 0) this.idleLater(w)
    })
    // Only the current worker's end fails the requests: an idle one ended on purpose may exit
    // after its successor took new requests.
    w.on('error', (err) => {
      if (this.worker !== w) return
      this.worker = null
      this.failAll(new CompactionError(`compaction worker failed: ${err.message}`))
    })
    w.on('exit', () => {
      if (this.worker !== w) return
      this.worker = null
      this.failAll(new CompactionError('compaction worker exited'))
    })
    this.worker = w
    return w
  }

  private cancelIdle (): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer)
    this.idleTimer = null
  }

  /** Ends the worker once it has had nothing to do for idleMs; the next compaction starts a new one. */
  private idleLater (w: Worker): void {
    this.cancelIdle()
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null
      if (this.worker !== w || this.waiting.size > 0) return
      this.worker = null
      // Nothing waits on it: its exit (handled above) has nobody to fail.
      w.terminate().catch(() => undefined)
    }, this.idleMs)
    this.idleTimer.unref()
  }

  private failAll (err: Error): void {
    for (const p of this.waiting.values()) p.reject(err)
    this.waiting.clear()
  }
}
