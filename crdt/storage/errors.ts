/**
 * Storage failures as domain errors with stable codes (the HTTP layer maps codes to statuses;
 * nothing here knows about HTTP).
 */

export const STORAGE_UNAVAILABLE = 'STORAGE_UNAVAILABLE'

/** Why the replica cannot be written: the file system is full, or any other I/O failure. */
export type StorageFailureKind = 'disk-full' | 'io-error'

/** True for "no space left on device" and "disk quota exceeded", however the layer below words it. */
export function isDiskFull (err: unknown): boolean {
  const e = err as { code?: unknown, message?: unknown, cause?: unknown } | null
  if (e === null || typeof e !== 'object') return false
  if (e.code === 'ENOSPC' || e.code === 'EDQUOT') return true
  if (typeof e.message === 'string' && /no space left on device|disk quota exceeded/i.test(e.message)) return true
  return e.cause !== undefined && e.cause !== err && isDiskFull(e.cause)
}

/** The first line of an error's message: what goes into one-line reports. */
export function firstLine (err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return (text.split('\n').find(l => l.trim() !== '') ?? text).trim()
}

/**
 * The replica cannot be written to disk right now. A write refused with it changed nothing (or,
 * for the write whose disk write failed, was not acknowledged); the store keeps retrying and
 * recovers by itself when the disk accepts writes again.
 */
export class StorageUnavailableError extends Error {
  override name = 'StorageUnavailableError'
  readonly code = STORAGE_UNAVAILABLE
  constructor (readonly kind: StorageFailureKind, readonly reason: string, readonly since: number, options?: { cause?: unknown }) {
    super(`the replica cannot be written to disk (${kind === 'disk-full' ? 'disk full' : 'I/O error'}: ${reason}); writes are refused until it can, reads still work`, options)
  }

  /** What a client is told besides the message (the HTTP layer puts it in `details`). */
  get details (): { code: string, kind: StorageFailureKind, reason: string, since: number } {
    return { code: this.code, kind: this.kind, reason: this.reason, since: this.since }
  }

  static from (err: unknown, since: number): StorageUnavailableError {
    if (err instanceof StorageUnavailableError) return err
    return new StorageUnavailableError(isDiskFull(err) ? 'disk-full' : 'io-error', firstLine(err), since, { cause: err })
  }
}
