import * as A from '@automerge/automerge'
import { GENESIS_DOC_BASE64 } from './genesis-bytes.js'

/**
 * The one replicated document. Every collection that can grow large is split into fixed hash
 * buckets: the cost of an Automerge change grows with the size of the map it touches, and the
 * buckets are created once, in the genesis change, so no two nodes ever create the same map
 * concurrently (a concurrent create of one key would hide one side's map behind a conflict).
 */

/** Strings that are never edited character by character are stored whole (one op, not one per char). */
export type Str = A.ImmutableString

export const SCHEMA_VERSION = 1
export const BUCKET_COUNT = 128

export const TASK_STATUSES = ['pending', 'claimed', 'in_progress', 'review', 'done', 'failed', 'cancelled', 'blocked'] as const
export type TaskStatus = typeof TASK_STATUSES[number]

/** The statuses stored in the document; claimed/in_progress/blocked are derived from assignments and deps. */
export const STORED_TASK_STATUSES = ['pending', 'review', 'done', 'failed', 'cancelled'] as const
export type StoredTaskStatus = typeof STORED_TASK_STATUSES[number]

/**
 * A task is stored in two parts. Its spec (title, hours, dependencies...: what a plan or an edit
 * sets) is one JSON string, one op per task, so a 10,000-task import is one small change; and its
 * state (status, attempt, ...) is kept as single scalars under `<id>/<field>` keys in flat bucket
 * maps, so concurrent updates of different fields merge per field and nothing is ever created
 * concurrently at the same key. Absent state fields have their defaults (TASK_STATE_DEFAULTS).
 */
export interface TaskSpec {
  title: string
  epic: string | null
  description: string
  estimatedHours: number
  /** The role that may take the task (a plan task without one gets its epic's), or null for any. */
  role: string | null
  dependsOn: string[]
  /** Higher is more urgent. */
  priority: number
  acceptance: string | null
  /** Position in the plan, the tie-break after priority. */
  order: number
  /** 'plan' when a plan import owns it, 'api' when created by hand. */
  source: 'plan' | 'api'
  createdAt: number
}

export interface TaskStateFields {
  /** One of STORED_TASK_STATUSES. */
  status: StoredTaskStatus
  /** Which attempt is current; claims name the attempt they are for. */
  attempt: number
  /** Attempts that ended expired or failed; at maxAttempts the task fails. */
  failures: number
  /** Not available before this time (backoff after an expired or failed attempt). */
  notBefore: number
  /** Why the task is failed, ejected or was reset, for the next agent to read. */
  reason: string | null
  updatedAt: number
}

export const TASK_STATE_DEFAULTS: TaskStateFields = { status: 'pending', attempt: 0, failures: 0, notBefore: 0, reason: null, updatedAt: 0 }

/** A stored state value: strings whole, numbers as they are. */
export type TaskStateValue = Str | number | null

export interface DocAssignment {
  id: Str
  taskId: Str
  agentId: Str
  nodeId: Str
  attempt: number
  /** Lamport clock of the claim: 1 + the highest clock of any claim of the task seen by the claimer. */
  clock: number
  claimedAt: number
  /** Set by the claiming node once its settle rule confirmed the claim; the agent starts only then. */
  confirmedAt: number | null
  /** active | completed | released | expired | failed: what the holder (or a lease check) recorded. */
  state: Str
  progress: number
  message: Str | null
  summary: Str | null
  endedAt: number | null
  reason: Str | null
}

export interface DocEvidence {
  id: Str
  taskId: Str
  assignmentId: Str
  agentId: Str
  kind: Str
  content: Str | null
  uri: Str | null
  sha256: Str
  createdAt: number
}

export interface DocMergeEntry {
  id: Str
  taskId: Str
  assignmentId: Str
  agentId: Str
  branch: Str
  /** The commit the agent pushed: exactly this is merged, never a later overwrite of the branch. */
  commit: Str | null
  priority: number
  enqueuedAt: number
  /** queued | merging | merged | ejected */
  state: Str
  sha: Str | null
  reason: Str | null
  output: Str | null
  leader: Str | null
  updatedAt: number
}

export interface DocAgent {
  id: Str
  name: Str
  role: Str
  capabilities: Str[]
  nodeId: Str
  registeredAt: number
  /** The `fleet agent` process running the agent (absent for agents inside a node). */
  instance?: Str | null
  /** Agent tokens issued before this time (epoch ms) are revoked. */
  tokensRevokedBefore?: number
}

export interface DocEpic {
  id: Str
  title: Str
  role: Str | null
  order: number
}

export interface DocSnapshot {
  id: Str
  takenAt: number
  nodeId: Str
  /** JSON of the overview at that time: stored whole, it is never edited. */
  summary: Str
}

export interface DocPlanMeta {
  id: Str | null
  title: Str | null
  importedAt: number | null
  /** sha256 of the last imported plan's canonical form. */
  digest: Str | null
}

export type Buckets<T> = Record<string, Record<string, T>>

export interface FleetDoc {
  schema: number
  plan: DocPlanMeta
  epics: Record<string, DocEpic>
  /** JSON TaskSpec per task id. */
  tasks: Buckets<Str>
  /** `<task id>/<field>` -> value, for the fields of TaskStateFields. */
  taskState: Buckets<TaskStateValue>
  assignments: Buckets<DocAssignment>
  evidence: Buckets<DocEvidence>
  mergeQueue: Record<string, DocMergeEntry>
  agents: Record<string, DocAgent>
  snapshots: Record<string, DocSnapshot>
  /** Alert transitions (node/alerts); added by a migration (crdt/migrations.ts), absent before it. */
  alerts?: Record<string, DocAlert>
}

/**
 * One alert (by fingerprint) and its latest transition, written by the node that sent it. Small
 * and bounded: only transitions are written, and old resolved alerts are pruned.
 */
export interface DocAlert {
  fingerprint: Str
  alertname: Str
  /** JSON of the labels (alertname and severity included) and of the annotations. */
  labels: Str
  annotations: Str
  /** firing | resolved */
  status: Str
  startsAt: number
  endsAt: number | null
  /** The node that owns delivering the latest transition. */
  sender: Str
  /** Receiver ids (see node/alerts/receivers.ts) that have not acknowledged it yet, comma separated. */
  undelivered: Str
  updatedAt: number
}

export const BUCKETED_COLLECTIONS = ['tasks', 'taskState', 'assignments', 'evidence'] as const
export type BucketedCollection = typeof BUCKETED_COLLECTIONS[number]

/** 32-bit FNV-1a of a string's code units: the same on every replica. */
export function fnv1a (s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** FNV-1a of the id, so every replica puts a key in the same bucket. */
export function bucketOf (id: string): string {
  return (fnv1a(id) % BUCKET_COUNT).toString(16).padStart(2, '0')
}

export function bucketKeys (): string[] {
  return Array.from({ length: BUCKET_COUNT }, (_, i) => i.toString(16).padStart(2, '0'))
}

/** Wraps a string for storage as one value (see Str). */
export function str (s: string): Str {
  return new A.ImmutableString(s)
}

/** Reads a stored string back, whether it was stored whole or as text. */
export function read (v: Str | string | null | undefined): string {
  if (v === null || v === undefined) return ''
  return typeof v === 'string' ? v : v.val
}

export function readOpt (v: Str | string | null | undefined): string | null {
  if (v === null || v === undefined) return null
  return typeof v === 'string' ? v : v.val
}

/** The actor of the genesis change: the same on every node so the change hashes the same. */
export const GENESIS_ACTOR = '00000000000000000000000000000000'

/**
 * The definition of genesis (building it takes about 0.3 s of CPU: one map per bucket per
 * collection, through the proxies). Nodes do not build it: they load GENESIS_DOC_BASE64, its saved
 * bytes (crdt/genesis-bytes.ts), which a unit test keeps equal to what this builds.
 */
export function buildGenesis (): A.Doc<FleetDoc> {
  return A.change(A.init<FleetDoc>({ actor: GENESIS_ACTOR }), { time: 0, message: 'genesis' }, (d) => {
    d.schema = SCHEMA_VERSION
    d.plan = { id: null, title: null, importedAt: null, digest: null }
    d.epics = {}
    for (const c of BUCKETED_COLLECTIONS) {
      const buckets: Buckets<never> = {}
      for (const b of bucketKeys()) buckets[b] = {}
      d[c] = buckets
    }
    d.mergeQueue = {}
    d.agents = {}
    d.snapshots = {}
  })
}

/**
 * Loaded once per process and only ever cloned, never changed (a clone costs a tenth of a load).
 * Loading the saved genesis costs less CPU than building it, on every fresh node's start.
 */
let template: A.Doc<FleetDoc> | null = null

function genesisTemplate (): A.Doc<FleetDoc> {
  template ??= A.load<FleetDoc>(Buffer.from(GENESIS_DOC_BASE64, 'base64'), { actor: GENESIS_ACTOR })
  return template
}

/**
 * Every replica starts from this byte-identical change (fixed actor, time 0), so all nodes share
 * the root maps and buckets instead of each creating its own.
 */
export function genesis (actor?: string): A.Doc<FleetDoc> {
  return actor === undefined ? A.clone(genesisTemplate()) : A.clone(genesisTemplate(), { actor })
}
