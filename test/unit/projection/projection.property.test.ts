import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { getIn, putIn } from '../../../crdt/collections.js'
import { newTaskSpec, editTaskSpec, specOf } from '../../../crdt/mutations/tasks.js'
import { checkedView } from '../../../crdt/materialization.js'
import { project, ProjectionCache, type Projection } from '../../../crdt/projection.js'
import { availableTasks } from '../../../crdt/rules/availability.js'
import { stronglyConnected } from '../../../plan/graph.js'
import { downstreamHours } from '../../../plan/critical-path.js'
import { bucketOf, read, str, type FleetDoc } from '../../../crdt/schema.js'
import { readTask, writeTaskSpec, writeTaskState } from '../../../crdt/task-records.js'
import { checkHistories, type Draws } from '../../helpers/property.js'
import { replica, type Doc } from '../rules/docs.js'

/**
 * The incremental projection (fed each change's patches, as a node's is) deep-equals a full
 * rebuild from the document after every step: local changes, imports and revisions, claims,
 * confirmations, expiries, releases, cancellations, and remote changes from other real Automerge
 * replicas merged in random orders (partial batches included).
 */

const ROLES = ['a', 'b', null] as const
const EPICS = ['E1', 'E2', null] as const
const AGENTS = ['A', 'B', 'C', 'D']
const POOL = 24

class Replica {
  doc: Doc
  readonly cache: ProjectionCache
  private clock = 1

  constructor (readonly actor: string) {
    this.doc = replica(actor)
    this.cache = new ProjectionCache(() => this.doc)
    this.cache.get()
  }

  change (fn: (d: FleetDoc) => void): void {
    let patches: A.Patch[] = []
    const next = A.change(this.doc, { time: this.clock++, patchCallback: (p) => { patches = p } }, fn)
    if (next === this.doc) return
    this.doc = next
    this.cache.notePatches(patches)
  }

  receive (changes: Uint8Array[]): void {
    let patches: A.Patch[] = []
    const [next] = A.applyChanges(this.doc, changes, { patchCallback: (p) => { patches = p } })
    // As DocStore does: Automerge can show a stale value after a batch (crdt/materialization.ts).
    this.doc = checkedView(next, patches).doc
    this.cache.notePatches(patches)
  }
}

function byId<T extends { id: string }> (xs: Iterable<T>): T[] {
  return [...xs].sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/** Everything a reader of the projection can see, in a form deepEqual compares. */
function snapshot (p: Projection): unknown {
  const tasks = [...p.tasks.inOrder()]
  const agents = new Set<string>([...AGENTS, ...p.assignmentIndex.byAgent.keys()])
  return {
    tasks,
    taskById: byId(p.taskById.values()),
    size: p.tasks.size,
    assignments: byId(p.assignments.values()),
    assignmentsByTask: [...p.assignmentsByTask].sort((a, b) => a[0] < b[0] ? -1 : 1),
    claimsByTask: [...p.claimsByTask].sort((a, b) => a[0] < b[0] ? -1 : 1),
    counts: { ...p.tasks.counts, byEpic: [...p.tasks.counts.byEpic].sort((a, b) => a[0] < b[0] ? -1 : 1) },
    ready: [undefined, 'a', 'b', 'nobody'].map(role => [...p.tasks.ready(role)].map(t => t.id)),
    downstream: [...p.downstream].sort((a, b) => a[0] < b[0] ? -1 : 1),
    held: [...agents].sort().map(a => [a, p.assignmentIndex.heldBy(a)?.id ?? null, byId(p.assignmentIndex.forAgent(a)).map(x => x.id)]),
    pending: [...p.assignmentIndex.pending].sort(),
    holding: [...p.assignmentIndex.holding].sort()
  }
}

function taskId (rng: Draws): string {
  return `T${rng.int(POOL)}`
}

function randomSpec (rng: Draws, id: string, order: number): ReturnType<typeof newTaskSpec> {
  const deps = Array.from({ length: rng.int(3) }, () => taskId(rng)).filter(d => d !== id)
  return newTaskSpec({
    title: `task ${id}`,
    epic: rng.pick(EPICS),
    description: '',
    estimatedHours: rng.pick([0.1, 0.2, 1, 2.5, 8, 16.3]),
    role: rng.pick(ROLES),
    dependsOn: [...new Set(deps)],
    priority: rng.int(3),
    acceptance: null,
    order
  }, rng.chance(0.7) ? 'plan' : 'api', 1000)
}

function activeAssignments (d: FleetDoc): string[] {
  const out: string[] = []
  for (const bucket of Object.values(d.assignments)) for (const a of Object.values(bucket)) if (read(a.state) === 'active') out.push(read(a.id))
  return out.sort()
}

/** One random local step, written the way the services write it. */
function localStep (rng: Draws, r: Replica, serial: { n: number }): string {
  const x = rng.float()
  if (x < 0.12) {
    const id = taskId(rng)
    r.change((d) => { if (readTask(d, id) === undefined) { writeTaskSpec(d, id, randomSpec(rng, id, rng.int(100))); writeTaskState(d, id, { updatedAt: 1 }) } })
    return `create ${id}`
  }
  if (x < 0.2) {
    // An import or revision: many tasks in one change (adds, spec updates, cancellations).
    const n = 3 + rng.int(10)
    r.change((d) => {
      for (let k = 0; k < n; k++) {
        const id = taskId(rng)
        const t = readTask(d, id)
        if (t === undefined) writeTaskSpec(d, id, randomSpec(rng, id, k))
        else if (rng.chance(0.7)) writeTaskSpec(d, id, editTaskSpec(specOf(t), { order: k, priority: rng.int(3), dependsOn: randomSpec(rng, id, k).dependsOn }))
        else writeTaskState(d, id, { status: 'cancelled', reason: 'removed from plan' })
      }
    })
    return `import ${n}`
  }
  if (x < 0.3) {
    const id = taskId(rng)
    r.change((d) => {
      const t = readTask(d, id)
      if (t === undefined) return
      const s = randomSpec(rng, id, rng.int(100))
      const fields = rng.pick([{ dependsOn: s.dependsOn }, { priority: s.priority }, { order: s.order }, { role: s.role }, { epic: s.epic }, { estimatedHours: s.estimatedHours }])
      writeTaskSpec(d, id, editTaskSpec(specOf(t), fields))
    })
    return `edit ${id}`
  }
  if (x < 0.42) {
    const id = taskId(rng)
    const status = rng.pick(['done', 'failed', 'cancelled', 'pending', 'review'] as const)
    r.change((d) => { if (readTask(d, id) !== undefined) writeTaskState(d, id, { status, reason: status === 'pending' ? null : `set ${status}` }) })
    return `status ${id} ${status}`
  }
  if (x < 0.62) {
    const id = taskId(rng)
    const aid = `a${serial.n++}-${r.actor.slice(0, 4)}`
    r.change((d) => {
      const t = readTask(d, id)
      if (t === undefined) return
      putIn(d.assignments, aid, {
        id: str(aid), taskId: str(id), agentId: str(rng.pick(AGENTS)), nodeId: str(r.actor.slice(0, 4)),
        attempt: t.attempt, clock: 1 + rng.int(3), claimedAt: rng.int(50), confirmedAt: null, state: str('active'),
        progress: 0, message: null, summary: null, endedAt: null, reason: null
      })
    })
    return `claim ${id} as ${aid}`
  }
  const x2 = rng.float()
  let what = ''
  r.change((d) => {
    const ids = activeAssignments(d)
    if (ids.length === 0) return
    const aid = rng.pick(ids)
    const a = getIn(d.assignments, aid)
    if (a === undefined) return
    const tid = read(a.taskId)
    const t = readTask(d, tid)
    if (x2 < 0.3) { a.confirmedAt = 100; what = `confirm ${aid}` } else if (x2 < 0.45) { a.progress = rng.int(101); what = `progress ${aid}` } else if (x2 < 0.7) {
      // Expiry (or release, or a failed attempt): the attempt moves on, with backoff.
      a.state = str(rng.pick(['expired', 'released', 'failed']))
      a.endedAt = 200
      if (t !== undefined && t.attempt === a.attempt) writeTaskState(d, tid, { attempt: t.attempt + 1, failures: t.failures + 1, notBefore: rng.int(2) * 5000 })
      what = `end ${aid}`
    } else if (x2 < 0.9) {
      a.state = str('completed')
      a.progress = 100
      if (t !== undefined) writeTaskState(d, tid, { status: rng.pick(['done', 'review'] as const) })
      what = `complete ${aid}`
    } else {
      const bucket = d.tasks[bucketOf(tid)]
      if (bucket !== undefined) delete bucket[tid]
      what = `delete task ${tid}`
    }
  })
  return what
}

/** The assignment indexes against plain passes over every assignment (independent of the index code). */
function checkAssignmentIndexes (p: Projection, step: string): void {
  const all = byId(p.assignments.values())
  assert.deepEqual([...p.assignmentIndex.pending].sort(), all.filter(a => a.state === 'pending').map(a => a.id), `pending after ${step}`)
  assert.deepEqual([...p.assignmentIndex.holding].sort(), all.filter(a => a.state === 'pending' || a.state === 'confirmed').map(a => a.id), `holding after ${step}`)
  for (const agent of AGENTS) {
    const mine = all.filter(a => a.agentId === agent)
    assert.deepEqual(byId(p.assignmentIndex.forAgent(agent)).map(a => a.id), mine.map(a => a.id), `forAgent(${agent}) after ${step}`)
    const held = mine.filter(a => a.state === 'pending' || a.state === 'confirmed').sort((a, b) => a.claimedAt - b.claimedAt || (a.id < b.id ? -1 : 1))[0]
    assert.equal(p.assignmentIndex.heldBy(agent)?.id, held?.id, `heldBy(${agent}) after ${step}`)
  }
}

/** No dependency cycle (nor self-dependency) among these tasks. */
function acyclic (tasks: ReadonlyArray<{ id: string, dependsOn: readonly string[] }>): boolean {
  const at = new Map(tasks.map((t, i) => [t.id, i]))
  const successors = tasks.map(t => t.dependsOn.map(d => at.get(d)).filter((j): j is number => j !== undefined))
  if (successors.some((s, i) => s.includes(i))) return false
  return stronglyConnected(tasks.length, successors).every(c => c.length === 1)
}

function check (r: Replica, step: string): void {
  checkAssignmentIndexes(r.cache.get(), step)
  const incremental = snapshot(r.cache.get())
  const full = snapshot(project(r.doc))
  assert.deepEqual(incremental, full, `after ${step}`)
  // Readiness also matches the plain rule over the whole list (an independent implementation),
  // ordered with the projection's chain figures.
  const view = r.cache.get()
  const list = [...view.tasks.inOrder()].map(t => ({ ...t, downstreamHours: view.downstream.get(t.id) ?? 0 }))
  // On a dependency DAG the chains are the batch longest paths of plan/critical-path.ts (another
  // independent implementation); cycles (concurrent edits) are checked by the rebuild alone.
  const live = list.filter(t => t.status !== 'cancelled')
  if (acyclic(live)) assert.deepEqual(new Map([...view.downstream].sort((a, b) => a[0] < b[0] ? -1 : 1)), new Map([...downstreamHours(live)].sort((a, b) => a[0] < b[0] ? -1 : 1)), `chains after ${step}`)
  for (const role of [undefined, 'a', 'b']) {
    assert.deepEqual([...r.cache.get().tasks.ready(role)].map(t => t.id), availableTasks(list, role === undefined ? {} : { role }).map(t => t.id), `ready(${role ?? 'any'}) after ${step}`)
  }
}

describe('projection: incremental equals a full rebuild (real Automerge replicas)', () => {
  it('the full build of a random plan (cycles, missing dependencies, cancellations, claims) equals the plan fed change by change', function () {
    this.timeout(120_000)
    checkHistories(15, (rng) => {
      const r = new Replica(`01${rng.hex(30)}`)
      const pool = 20 + rng.int(200)
      const ids = Array.from({ length: pool }, (_, i) => `T${i}`)
      // Tasks arrive in random batches, each depending on random others (also later ones, so
      // cycles form, and on ids never created); then statuses, cancellations and claims.
      for (let at = 0; at < pool;) {
        const batch = ids.slice(at, at += 1 + rng.int(40))
        r.change((d) => {
          for (const id of batch) {
            const spec = randomSpec(rng, id, rng.int(pool))
            writeTaskSpec(d, id, { ...spec, dependsOn: [...new Set(Array.from({ length: rng.int(4) }, () => `T${rng.int(pool + 5)}`))].filter(x => x !== id) })
            writeTaskState(d, id, { updatedAt: 1 })
          }
        })
      }
      const serial = { n: 0 }
      for (let step = 0; step < 40; step++) localStep(rng, r, serial)
      assert.deepEqual(snapshot(r.cache.get()), snapshot(project(r.doc)), 'incremental against the batch build')
      assert.equal(r.cache.stats.rebuilds, 1, 'full rebuilds')
    })
  })

  it('after every local step, import, claim, expiry, cancellation and merge in random order', function () {
    this.timeout(120_000)
    checkHistories(20, (rng) => {
      const n = 2 + rng.int(2)
      const replicas = Array.from({ length: n }, (_, i) => new Replica(`${(i + 1).toString(16).padStart(2, '0')}${rng.hex(30)}`))
      const serial = { n: 0 }
      for (let step = 0; step < 80; step++) {
        const r = rng.pick(replicas)
        let what: string
        if (rng.chance(0.25)) {
          const s = rng.pick(replicas.filter(o => o !== r))
          const changes = A.getChanges(A.init<FleetDoc>(), s.doc)
          // Some merges ship a random part, out of order: Automerge holds what lacks its deps.
          const part = rng.chance(0.4) ? rng.shuffle(changes).slice(0, 1 + rng.int(changes.length)) : rng.shuffle(changes)
          r.receive(part)
          what = `merge ${part.length} of ${changes.length} changes from ${s.actor.slice(0, 2)} into ${r.actor.slice(0, 2)}`
        } else {
          what = localStep(rng, r, serial)
        }
        check(r, `step ${step}: ${what}`)
      }
      for (const r of replicas) for (const s of replicas) if (r !== s) r.receive(A.getChanges(A.init<FleetDoc>(), s.doc))
      for (const r of replicas) check(r, 'the final merge')
      // The steps above went the incremental way: one full build at the start, none after.
      for (const r of replicas) assert.equal(r.cache.stats.rebuilds, 1, 'full rebuilds')
      const views = replicas.map(r => snapshot(r.cache.get()))
      for (const v of views.slice(1)) assert.deepEqual(v, views[0], 'replicas holding the same changes show the same projection')
    })
  })
})
