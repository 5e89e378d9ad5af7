export const DEFAULT_WAIT_MS = 20_000

/** Thrown by a check to stop waiting at once (e.g. the process being waited on has exited). */
export class GiveUpError extends Error {
  override name = 'GiveUpError'
}
export const DEFAULT_POLL_MS = 50

/**
 * Polls `check` until it returns something other than false/undefined/null, or fails with a
 * message saying what was awaited (and the last value or error seen).
 */
export async function waitFor<T> (check: () => T | false | undefined | null | Promise<T | false | undefined | null>, what: string, timeoutMs = DEFAULT_WAIT_MS, pollMs = DEFAULT_POLL_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await check()
      if (v !== false && v !== undefined && v !== null) return v
      last = v
    } catch (err) {
      if (err instanceof GiveUpError) throw new Error(`gave up waiting for ${what}: ${err.message}`)
      last = err
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${detail})`)
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs))
  }
}
