import { putIn } from '../collections.js'
import { str, type FleetDoc } from '../schema.js'

/** Writes of immutable records (evidence, progress snapshots): pure functions of (document draft, input, now). */

export interface NewEvidence {
  id: string
  taskId: string
  assignmentId: string
  agentId: string
  kind: string
  /** Exactly one of content and uri is set. */
  content: string | null
  uri: string | null
  /** sha256 (hex) of the content, or of the uri. */
  sha256: string
}

export function addEvidence (d: FleetDoc, e: NewEvidence, now: number): void {
  putIn(d.evidence, e.id, {
    id: str(e.id),
    taskId: str(e.taskId),
    assignmentId: str(e.assignmentId),
    agentId: str(e.agentId),
    kind: str(e.kind),
    content: e.content === null ? null : str(e.content),
    uri: e.uri === null ? null : str(e.uri),
    sha256: str(e.sha256),
    createdAt: now
  })
}

/** A point-in-time summary; `summary` is JSON, stored whole (it is never edited). */
export function addSnapshot (d: FleetDoc, s: { id: string, nodeId: string, summary: string }, now: number): void {
  d.snapshots[s.id] = { id: str(s.id), takenAt: now, nodeId: str(s.nodeId), summary: str(s.summary) }
}
