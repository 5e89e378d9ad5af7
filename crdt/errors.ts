import type { ZodError } from 'zod'
import { STORAGE_UNAVAILABLE } from './storage/errors.js'

/**
 * Domain errors: what went wrong in the fleet's own terms, with a stable string `code` and
 * `details` a client can act on. They live in crdt/ because the document mutations
 * (crdt/mutations) throw them inside Automerge changes, and crdt must not import node/; the
 * services and coordinators above throw and match the same classes. Nothing here knows about
 * HTTP: node/http/errors.ts maps each code to a status (DOMAIN_ERROR_STATUS), and adding a code
 * here without a status there is a type error.
 */

export const DOMAIN_ERROR_CODES = [
  /** The named task, agent, assignment or merge entry does not exist (on this replica). */
  'NOT_FOUND',
  /** The request contradicts the current state (a task already done, a dependency cycle...). */
  'CONFLICT',
  /** A claim the claim rules refuse: task not pending, the agent holds a task, wrong role... */
  'CLAIM_REFUSED',
  /** The assignment no longer (or never did) own its task: the holder must stop writing. */
  'FENCED',
  /** This node has not yet received what its live peers announced: a claim now could be wrong. */
  'NOT_CAUGHT_UP',
  /** Evidence content over MAX_EVIDENCE_BYTES. */
  'EVIDENCE_TOO_LARGE',
  /** Input that fails validation (body, query, plan); details list every problem. */
  'INVALID_INPUT',
  /** Another process runs this agent and still heartbeats. */
  'AGENT_RUNNING',
  /** This agent process was replaced by another one: it must stop. */
  'AGENT_REPLACED',
  /** The replica cannot be written to disk (crdt/storage/errors.ts: StorageUnavailableError). */
  STORAGE_UNAVAILABLE
] as const
export type DomainErrorCode = typeof DOMAIN_ERROR_CODES[number]

/** Base of every domain error: `code` says what happened, `details` (JSON) says about what. */
export class DomainError extends Error {
  override name = 'DomainError'
  constructor (readonly code: DomainErrorCode, message: string, readonly details: unknown = null) {
    super(message)
  }
}

/** The `code` of a domain error (any error carrying one of DOMAIN_ERROR_CODES), or null. */
export function domainCodeOf (err: unknown): DomainErrorCode | null {
  if (err instanceof DomainError) return err.code
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && (DOMAIN_ERROR_CODES as readonly string[]).includes(code) ? code as DomainErrorCode : null
}

export class NotFoundError extends DomainError {
  override name = 'NotFoundError'
  constructor (message: string, details: unknown = null) { super('NOT_FOUND', message, details) }
}

export class ConflictError extends DomainError {
  override name = 'ConflictError'
  constructor (message: string, details: unknown = null) { super('CONFLICT', message, details) }
}

export class ClaimRefusedError extends DomainError {
  override name = 'ClaimRefusedError'
  constructor (message: string, details: unknown = null) { super('CLAIM_REFUSED', message, details) }
}

/**
 * The assignment is no longer the task's live one (lost to another claim, lease expired, ended):
 * its holder drops the task at once and writes nothing more for it. The one class for this, used
 * by the services, by both coordinators and by the worker.
 */
export class FencedError extends DomainError {
  override name = 'FencedError'
  constructor (readonly assignmentId: string, readonly state: string, message = `assignment ${assignmentId} fenced: ${state}`) {
    super('FENCED', message, { assignmentId, state })
  }
}

export class NotCaughtUpError extends DomainError {
  override name = 'NotCaughtUpError'
  constructor (peer: string | null) {
    super('NOT_CAUGHT_UP', peer === null
      ? 'this node is still joining the cluster (waiting for its peers\' announcements); retry the claim shortly'
      : `this node is still receiving changes from peer ${peer}; retry the claim shortly`, { peer })
  }
}

export class EvidenceTooLargeError extends DomainError {
  override name = 'EvidenceTooLargeError'
  constructor (bytes: number, limit: number) {
    super('EVIDENCE_TOO_LARGE', `evidence content is ${bytes} bytes; the limit is ${limit} (${Math.round(limit / 1024)} KiB). Put large artifacts in git and attach a commit or link instead`, { bytes, limit })
  }
}

/** One problem of an input: where (a dotted path, or a file and line) and what. */
export interface InputIssue {
  path: string
  message: string
}

export class InvalidInputError extends DomainError {
  override name = 'InvalidInputError'
  /** `details` is usually the list of problems (InputIssue[], or a plan's problems). */
  constructor (message: string, details: unknown = null) { super('INVALID_INPUT', message, details) }
}

/** A zod failure on a request part (`what`: body, query...) as an InvalidInputError naming every bad field. */
export function invalidInput (what: string, err: ZodError): InvalidInputError {
  const details: InputIssue[] = err.issues.map((i) => ({ path: i.path.map(String).join('.') || '(body)', message: i.message }))
  return new InvalidInputError(`invalid ${what}: ${details.map(d => `${d.path}: ${d.message}`).join('; ')}`, details)
}

export class AgentRunningError extends DomainError {
  override name = 'AgentRunningError'
  constructor (message: string, agentId: string) { super('AGENT_RUNNING', message, { code: 'agent-running', agentId }) }
}

export class AgentReplacedError extends DomainError {
  override name = 'AgentReplacedError'
  constructor (message: string, agentId: string) { super('AGENT_REPLACED', message, { code: 'agent-replaced', agentId }) }
}
