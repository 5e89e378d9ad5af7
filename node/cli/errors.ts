/**
 * A command-line failure: printed as one line `fleet: <message>`, exit code as given. `trace`,
 * when set (--log-level debug), is printed after that line: the stack of the underlying error.
 */
export class CliError extends Error {
  override name = 'CliError'
  constructor (message: string, readonly exitCode = 2, readonly trace?: unknown) {
    super(message)
  }
}

/** Stack traces of an error and its causes, for --log-level debug. */
export function traceOf (err: unknown): string {
  const out: string[] = []
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    out.push(`${depth === 0 ? '' : 'caused by: '}${e instanceof Error ? e.stack ?? e.message : String(e)}`)
  }
  return out.join('\n')
}

export const EXIT_USAGE = 2
export const EXIT_FAILURE = 1
