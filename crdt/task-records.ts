import { getIn, putIn } from './collections.js'
import {
  bucketOf, read, str, STORED_TASK_STATUSES, TASK_STATE_DEFAULTS,
  type FleetDoc, type Str, type StoredTaskStatus, type TaskSpec, type TaskStateFields, type TaskStateValue
} from './schema.js'

/** Reads and writes of tasks in their stored form (see TaskSpec in schema.ts). */

export interface TaskRecord extends TaskSpec, TaskStateFields {
  id: string
}

/** Parsed specs by stored value: Automerge keeps unchanged values' objects, so re-reads are free. */
const parsed = new WeakMap<Str, TaskSpec>()

function parseSpec (raw: Str): TaskSpec {
  let spec = parsed.get(raw)
  if (spec === undefined) {
    spec = JSON.parse(read(raw)) as TaskSpec
    parsed.set(raw, spec)
  }
  return spec
}

const STATE_KEYS = Object.keys(TASK_STATE_DEFAULTS) as Array<keyof TaskStateFields>

/** One stored state value as its field's type (an unknown status reads as pending). */
function stateValue<K extends keyof TaskStateFields> (k: K, v: TaskStateValue): TaskStateFields[K] | undefined {
  if (k === 'status') {
    const s = read(v as Str)
    return ((STORED_TASK_STATUSES as readonly string[]).includes(s) ? s : 'pending') as TaskStateFields[K]
  }
  if (k === 'reason') return (v === null ? null : read(v as Str)) as TaskStateFields[K]
  return (typeof v === 'number' ? v : undefined) as TaskStateFields[K] | undefined
}

function stateOf (doc: FleetDoc, id: string): TaskStateFields {
  const bucket = doc.taskState[bucketOf(id)] ?? {}
  const out: TaskStateFields = { ...TASK_STATE_DEFAULTS }
  for (const k of STATE_KEYS) {
    const v: TaskStateValue | undefined = bucket[`${id}/${k}`]
    if (v !== undefined) setState(out, k, v)
  }
  return out
}

function setState<K extends keyof TaskStateFields> (out: TaskStateFields, k: K, v: TaskStateValue): void {
  const value = stateValue(k, v)
  if (value !== undefined) out[k] = value
}

export function hasTask (doc: FleetDoc, id: string): boolean {
  return getIn(doc.tasks, id) !== undefined
}

export function readTask (doc: FleetDoc, id: string): TaskRecord | undefined {
  const raw = getIn(doc.tasks, id)
  return raw === undefined ? undefined : record(id, parseSpec(raw), stateOf(doc, id))
}

/**
 * Every task's record, by id (a later bucket's duplicate id wins, as it would in a map filled in
 * this order). The same records readTask gives, read in one pass over each collection: the state
 * buckets are walked once and grouped by task (allStates), instead of six keys built and looked
 * up per task (stateOf), which was a fifth of a 100,000-task full build.
 */
export function allTasks (doc: FleetDoc): Map<string, TaskRecord> {
  const states = allStates(doc)
  const out = new Map<string, TaskRecord>()
  for (const bucket of Object.values(doc.tasks)) {
    for (const id of Object.keys(bucket)) out.set(id, record(id, parseSpec(bucket[id] as Str), states.get(id) ?? TASK_STATE_DEFAULTS))
  }
  return out
}

const STATE_KEY_SET: ReadonlySet<string> = new Set(STATE_KEYS)

/**
 * The stored state of every task that has any, by id. Exactly what stateOf reads: a key
 * `${id}/${field}` counts only for a known field and only in its task's own bucket (a task id
 * may hold '/', a field never does, so the last '/' splits them).
 */
function allStates (doc: FleetDoc): Map<string, TaskStateFields> {
  const out = new Map<string, TaskStateFields>()
  for (const [name, bucket] of Object.entries(doc.taskState)) {
    for (const key of Object.keys(bucket)) {
      const slash = key.lastIndexOf('/')
      const field = key.slice(slash + 1)
      if (slash < 0 || !STATE_KEY_SET.has(field)) continue
      const id = key.slice(0, slash)
      if (bucketOf(id) !== name) continue
      let fields = out.get(id)
      if (fields === undefined) out.set(id, fields = { ...TASK_STATE_DEFAULTS })
      setState(fields, field as keyof TaskStateFields, bucket[key] as TaskStateValue)
    }
  }
  return out
}

/** Ids of the tasks whose stored status is `status`, from the state buckets alone (no spec is read). */
export function idsWithStoredStatus (doc: FleetDoc, status: StoredTaskStatus): string[] {
  const out: string[] = []
  const suffix = '/status'
  for (const [name, bucket] of Object.entries(doc.taskState)) {
    for (const key of Object.keys(bucket)) {
      if (!key.endsWith(suffix)) continue
      const id = key.slice(0, -suffix.length)
      if (stateValue('status', bucket[key] as TaskStateValue) === status && bucketOf(id) === name && hasTask(doc, id)) out.push(id)
    }
  }
  return out
}

/** Field by field rather than spread: one object shape for every record (smaller, faster to read). */
function record (id: string, spec: TaskSpec, state: TaskStateFields): TaskRecord {
  return {
    id,
    title: spec.title,
    epic: spec.epic,
    description: spec.description,
    estimatedHours: spec.estimatedHours,
    role: spec.role,
    dependsOn: spec.dependsOn,
    priority: spec.priority,
    acceptance: spec.acceptance,
    order: spec.order,
    source: spec.source,
    createdAt: spec.createdAt,
    status: state.status,
    attempt: state.attempt,
    failures: state.failures,
    notBefore: state.notBefore,
    reason: state.reason,
    updatedAt: state.updatedAt
  }
}

/** Writes a whole spec (create, or a plan/API edit of the spec fields). */
export function writeTaskSpec (d: FleetDoc, id: string, spec: TaskSpec): void {
  putIn(d.tasks, id, str(JSON.stringify(spec)))
}

/** Writes only the state fields given, each as its own key, and only if it changes. */
export function writeTaskState (d: FleetDoc, id: string, fields: Partial<TaskStateFields>): void {
  const bucket = d.taskState[bucketOf(id)]
  if (bucket === undefined) throw new Error(`document has no state bucket for ${id}`)
  // Only the fields written are read: inside a change every read is a call into Automerge.
  for (const k of STATE_KEYS) {
    if (!(k in fields)) continue
    const v = fields[k]
    if (v === undefined) continue
    const key = `${id}/${k}`
    const stored: TaskStateValue | undefined = bucket[key]
    const current = stored === undefined ? TASK_STATE_DEFAULTS[k] : stateValue(k, stored) ?? TASK_STATE_DEFAULTS[k]
    if (v === current) continue
    bucket[key] = typeof v === 'string' ? str(v) : v
  }
}
