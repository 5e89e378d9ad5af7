/**
 * The logging that the lower layers (crdt, bootstrap) need: structured fields, then a message.
 * node/logger.ts's pino Logger satisfies it, so those layers log without importing node/.
 */
export interface Log {
  error: (fields: object, msg: string) => void
  warn: (fields: object, msg: string) => void
  info: (fields: object, msg: string) => void
  debug: (fields: object, msg: string) => void
}
