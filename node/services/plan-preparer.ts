import { Worker } from 'node:worker_threads'
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { DomainError, InvalidInputError } from '../../crdt/errors.js'
import type { ImportStep } from '../../plan/import-steps.js'
import type { PreparedImport } from '../../plan/prepare.js'
import type { ExistingEpic, ExistingTask } from '../../plan/revision.js'

/**
 * Reads and plans a large import in a worker thread (plan-worker.ts), so the node's event loop
 * never spends the O(plan) steps in one go: parsing the JSON body, validating the plan (zod and the
 * graph checks), comparing it with every task of the document, ordering the writes and the digest
 * took 0.2 s at 10,000 tasks and over 1 s at 100,000, during which HTTP, gossip and leases waited.
 *
 * What crosses between the threads is O(plan) too, so it crosses in slices, each its own turn of
 * the loop: the document's tasks go to the worker a slice at a time, and the planned writes come
 * back a slice at a time, each asked for only after the last was taken (a port delivers every
 * message already queued in one turn, so the worker never runs ahead).
 *
 * Protocol, one worker per import:
 *   main: {body}            worker: {parsed} or {failed}
 *   main: {existing}... {existingEnd}
 *   worker: {prepared} (everything but the steps)
 *   main: {more}            worker: {steps} (a slice, or the last with `last`)   ...until last
 */

/**
 * Import bodies from this size are read and planned in a worker: ~4,000 tasks of JSON, from where
 * preparing on the loop (~35 ms per 1,000 tasks on the 2-core VM) would block it longer than one
 * write step of the import does anyway (~120 ms). Below it the worker costs more than it saves: a
 * fresh thread loads its modules and runs cold code (+0.4 s for 10,000 tasks).
 */
export const DEFAULT_PLAN_WORKER_MIN_BYTES = 1024 * 1024
/** Documents from this many tasks are planned against in a worker whatever the body's size (the comparison reads every task). */
export const DEFAULT_PLAN_WORKER_MIN_TASKS = 4000
/** Tasks or steps per message between the threads (a few ms to copy on the 2-core VM). */
export const DEFAULT_PLAN_SLICE = 2000

export type ToWorker =
  | { type: 'body', bytes: Uint8Array }
  | { type: 'existing', tasks: ExistingTask[] }
  | { type: 'existingEnd', epics: ExistingEpic[], slice: number }
  | { type: 'more' }

/** An error as it crosses the thread boundary: a domain error keeps its code and details. */
export interface WorkerError { code: string | null, message: string, details: unknown }

export type FromWorker =
  | { type: 'parsed' }
  | { type: 'failed', error: WorkerError }
  | { type: 'prepared', head: Omit<PreparedImport, 'steps'>, stepCount: number }
  | { type: 'steps', steps: ImportStep[], last: boolean }

/** The document's side of an import's planning: its tasks in slices (the loop runs between them) and its epics. */
export interface ExistingSource {
  taskSlices: (size: number) => Iterable<ExistingTask[]>
  epics: () => ExistingEpic[]
}

export interface PrepareInWorkerOptions {
  /** Default DEFAULT_PLAN_SLICE. */
  slice?: number
}

export function errorToWorker (err: unknown): WorkerError {
  if (err instanceof DomainError) return { code: err.code, message: err.message, details: err.details }
  return { code: null, message: err instanceof Error ? err.message : String(err), details: null }
}

function errorFromWorker (e: WorkerError): Error {
  if (e.code === 'INVALID_INPUT') return new InvalidInputError(e.message, e.details)
  return new Error(`plan preparation failed: ${e.message}`)
}

/**
 * Parses, validates and plans an import body in a worker thread; resolves with what
 * prepareImport gives on the loop, or rejects with the same InvalidInputError for a bad body or plan.
 */
export async function prepareInWorker (bytes: Uint8Array, existing: ExistingSource, opts: PrepareInWorkerOptions = {}): Promise<PreparedImport> {
  const slice = opts.slice ?? DEFAULT_PLAN_SLICE
  const worker = new Worker(new URL('./plan-worker.js', import.meta.url))
  const inbox = new Inbox(worker)
  try {
    // A copy is moved, not shared: the caller's buffer stays usable (a memcpy, ~5 ms for 20 MB).
    const own = new Uint8Array(bytes)
    worker.postMessage({ type: 'body', bytes: own } satisfies ToWorker, [own.buffer as ArrayBuffer])
    const parsed = await inbox.next()
    if (parsed.type === 'failed') throw errorFromWorker(parsed.error)
    for (const tasks of existing.taskSlices(slice)) {
      worker.postMessage({ type: 'existing', tasks } satisfies ToWorker)
      await yieldToLoop()
    }
    worker.postMessage({ type: 'existingEnd', epics: existing.epics(), slice } satisfies ToWorker)
    const prepared = await inbox.next()
    if (prepared.type === 'failed') throw errorFromWorker(prepared.error)
    if (prepared.type !== 'prepared') throw new Error(`plan worker: expected the prepared import, got ${prepared.type}`)
    const steps: ImportStep[] = []
    for (;;) {
      worker.postMessage({ type: 'more' } satisfies ToWorker)
      const m = await inbox.next()
      if (m.type === 'failed') throw errorFromWorker(m.error)
      if (m.type !== 'steps') throw new Error(`plan worker: expected steps, got ${m.type}`)
      for (const s of m.steps) steps.push(s)
      if (m.last) break
    }
    if (steps.length !== prepared.stepCount) throw new Error(`plan worker: ${steps.length} steps received of ${prepared.stepCount}`)
    return { ...prepared.head, steps }
  } finally {
    inbox.close()
    await worker.terminate()
  }
}

/** The worker's messages one at a time; its crash or exit fails whoever waits. */
class Inbox {
  private readonly queue: FromWorker[] = []
  private waiter: { resolve: (m: FromWorker) => void, reject: (e: Error) => void } | null = null
  private failure: Error | null = null
  private readonly onMessage = (m: FromWorker): void => {
    if (this.waiter !== null) { const w = this.waiter; this.waiter = null; w.resolve(m) } else this.queue.push(m)
  }

  private readonly onError = (err: Error): void => { this.fail(new Error(`plan worker failed: ${err.message}`)) }
  private readonly onExit = (code: number): void => { this.fail(new Error(`plan worker exited (code ${code})`)) }

  constructor (private readonly worker: Worker) {
    worker.on('message', this.onMessage)
    worker.on('error', this.onError)
    worker.on('exit', this.onExit)
  }

  async next (): Promise<FromWorker> {
    const m = this.queue.shift()
    if (m !== undefined) return m
    if (this.failure !== null) throw this.failure
    return await new Promise<FromWorker>((resolve, reject) => { this.waiter = { resolve, reject } })
  }

  close (): void {
    this.worker.off('message', this.onMessage)
    this.worker.off('exit', this.onExit)
    // An 'error' with no listener would crash the node: a late one (the worker failing while it
    // is terminated) is dropped, nobody waits for it any more.
    this.worker.off('error', this.onError)
    this.worker.on('error', () => {})
  }

  private fail (err: Error): void {
    if (this.failure === null) this.failure = err
    if (this.waiter !== null) { const w = this.waiter; this.waiter = null; w.reject(err) }
  }
}
