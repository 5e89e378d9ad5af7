import { SecretFileError } from '../../bootstrap/secret-file.js'
import { firstLine } from '../../crdt/storage/errors.js'
import { ConfigError } from '../config.js'
import { StartupError } from '../startup/errors.js'
import { CliError, EXIT_FAILURE } from './errors.js'

/** Levels at which a failed start also prints stack traces. */
const TRACE_LEVELS = new Set(['debug', 'trace'])

/**
 * How `fleet start` fails: bad options stay ConfigErrors (exit 2); everything else is one line
 * and exit 1. Environment failures (StartupError, SecretFileError) already name the resource,
 * cause and fix; anything else (a bug) says how to get its stack. Stacks only at debug level.
 */
export function asStartFailure (err: unknown, logLevel: string | undefined): unknown {
  if (err instanceof ConfigError || err instanceof CliError) return err
  const trace = logLevel !== undefined && TRACE_LEVELS.has(logLevel) ? err : undefined
  if (err instanceof StartupError || err instanceof SecretFileError) return new CliError(err.message, EXIT_FAILURE, trace)
  return new CliError(`cannot start: ${firstLine(err)}${trace === undefined ? ' (run with --log-level debug for the stack trace)' : ''}`, EXIT_FAILURE, trace)
}

export const startFailure = {
  around<T> (fn: () => T, logLevel: string | undefined): T {
    try {
      return fn()
    } catch (err) {
      throw asStartFailure(err, logLevel)
    }
  },
  async aroundAsync<T> (fn: () => Promise<T>, logLevel: string | undefined): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      throw asStartFailure(err, logLevel)
    }
  }
}
