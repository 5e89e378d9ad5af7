import { pino, destination, type Logger as PinoLogger, type LevelWithSilent } from 'pino'

/** The logger every module takes: pino's, so children carry their component name. */
export type Logger = PinoLogger

export const DEFAULT_LOG_LEVEL: LevelWithSilent = 'info'

export interface LoggerInit {
  /** pino level; default DEFAULT_LOG_LEVEL, or FLEET_LOG_LEVEL from the environment. */
  level?: LevelWithSilent
  /** Component name put on every line. */
  name?: string
}

/**
 * Logs go to stderr as JSON lines, so stdout stays for what a user reads (peer id, URLs, tables)
 * and tests can parse it.
 */
export function createLogger (init: LoggerInit = {}): Logger {
  const level = init.level ?? (process.env.FLEET_LOG_LEVEL as LevelWithSilent | undefined) ?? DEFAULT_LOG_LEVEL
  return pino({ level, name: init.name ?? 'fleet' }, destination({ fd: 2, sync: false }))
}

/** A logger that drops everything: for unit tests and tools that want silence. */
export function silentLogger (): Logger {
  return pino({ level: 'silent' })
}
