import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { getIn } from '../../../crdt/collections.js'
import { ClaimRefusedError } from '../../../crdt/errors.js'
import { revokeAgentTokens, registerAgent } from '../../../crdt/mutations/agents.js'
import { addClaim, completeAssignment, confirmClaim, endAttempt, type AttemptPolicy } from '../../../crdt/mutations/assignments.js'
import { ejectMerge, enqueueMerge, markMerged } from '../../../crdt/mutations/merge-queue.js'
import { finishPlanImport, writeEpic, writeImportTask, type ImportGuard } from '../../../crdt/mutations/plans.js'
import { addEvidence, addSnapshot } from '../../../crdt/mutations/records.js'
import { editTaskSpec, newTaskSpec, specOf } from '../../../crdt/mutations/tasks.js'
import { genesis, read, type FleetDoc } from '../../../crdt/schema.js'
import { readTask, writeTaskSpec, writeTaskState } from '../../../crdt/task-records.js'

/** The document writes are pure: same document, input and `now` give the same values, and `now` is the only time written. */

type Doc = A.Doc<FleetDoc>
const T0 = 1_700_000_000_000
const POLICY: AttemptPolicy = { maxAttempts: 2, retryBaseMs: 5_000, retryMaxMs: 60_000 }

function change (doc: Doc, f: (d: FleetDoc) => void): Doc {
  return A.change(doc, (d) => { f(d) })
}

function withTask (id = 't1'): Doc {
  return change(genesis('aa'), (d) => {
    writeTaskSpec(d, id, newTaskSpec({ title: 'T', epic: null, description: '', estimatedHours: 2, role: null, dependsOn: [], priority: 0, acceptance: null, order: 1 }, 'api', T0))
  })
}

function claimed (doc: Doc, id: string, attempt: number, now: number): Doc {
  return change(doc, (d) => { addClaim(d, { id, taskId: 't1', agentId: 'ag', nodeId: 'n1', attempt, clock: 1 }, now) })
}

const assignment = (doc: Doc, id: string) => getIn(doc.assignments, id)

describe('crdt/mutations: pure document writes, time passed in', () => {
  it('a claim is stamped with the given time; a claim for an attempt the task left is refused and writes nothing', () => {
    let doc = claimed(withTask(), 'a1', 0, T0 + 5)
    assert.equal(assignment(doc, 'a1')?.claimedAt, T0 + 5)
    assert.equal(read(assignment(doc, 'a1')?.state), 'active')
    const before = A.getHeads(doc).join()
    assert.throws(() => claimed(doc, 'a2', 3, T0 + 6), ClaimRefusedError)
    assert.equal(A.getHeads(doc).join(), before)
    doc = change(doc, (d) => { confirmClaim(d, 'a1', T0 + 7) })
    doc = change(doc, (d) => { confirmClaim(d, 'a1', T0 + 99) })
    assert.equal(assignment(doc, 'a1')?.confirmedAt, T0 + 7, 'the first confirmation time is kept')
  })

  it('a failed attempt backs the task off from `now`, the last allowed one fails it, and repeating an end changes nothing', () => {
    let doc = claimed(withTask(), 'a1', 0, T0)
    const end = (d: FleetDoc, id: string, attempt: number, now: number): void => {
      endAttempt(d, { assignment: { id, taskId: 't1', attempt }, state: 'failed', reason: 'tests failed', countsAsFailure: true }, POLICY, now)
    }
    doc = change(doc, (d) => { end(d, 'a1', 0, T0 + 1_000) })
    let t = readTask(doc, 't1')
    assert.deepEqual([t?.attempt, t?.failures, t?.notBefore, t?.status, t?.updatedAt], [1, 1, T0 + 1_000 + 5_000, 'pending', T0 + 1_000])
    assert.equal(assignment(doc, 'a1')?.endedAt, T0 + 1_000)
    const heads = A.getHeads(doc).join()
    assert.equal(A.getHeads(change(doc, (d) => { end(d, 'a1', 0, T0 + 2_000) })).join(), heads, 'a second end of the same assignment writes nothing')

    doc = claimed(doc, 'a2', 1, T0 + 10_000)
    doc = change(doc, (d) => { end(d, 'a2', 1, T0 + 11_000) })
    t = readTask(doc, 't1')
    assert.equal(t?.status, 'failed')
    assert.match(t?.reason ?? '', /2 of 2 attempts failed/)
  })

  it('a release moves the task to its next attempt without counting a failure or backing off', () => {
    let doc = claimed(withTask(), 'a1', 0, T0)
    doc = change(doc, (d) => { endAttempt(d, { assignment: { id: 'a1', taskId: 't1', attempt: 0 }, state: 'released', reason: 'released by agent ag: shutdown', countsAsFailure: false }, POLICY, T0 + 3) })
    const t = readTask(doc, 't1')
    assert.deepEqual([t?.attempt, t?.failures, t?.notBefore, t?.reason], [1, 0, 0, 'released by agent ag: shutdown'])
    assert.equal(read(assignment(doc, 'a1')?.reason), 'released by agent ag: shutdown')
  })

  it('completion puts a task with queued work (the index says so) in review; the merge marks it done at the merge time', () => {
    let doc = claimed(withTask(), 'a1', 0, T0)
    doc = change(doc, (d) => { enqueueMerge(d, { id: 'm1', taskId: 't1', assignmentId: 'a1', agentId: 'ag', branch: 'fleet/t1', commit: null, priority: 0 }, T0 + 10) })
    assert.equal(doc.mergeQueue.m1?.enqueuedAt, T0 + 10)
    doc = change(doc, (d) => { completeAssignment(d, { id: 'a1', taskId: 't1', summary: 'did it', inReview: true, merged: false }, T0 + 20) })
    assert.equal(readTask(doc, 't1')?.status, 'review')
    assert.equal(assignment(doc, 'a1')?.endedAt, T0 + 20)
    doc = change(doc, (d) => { markMerged(d, { id: 'm1', taskId: 't1', sha: 'f'.repeat(40), leader: 'n1' }, T0 + 30) })
    assert.deepEqual([readTask(doc, 't1')?.status, readTask(doc, 't1')?.updatedAt, doc.mergeQueue.m1?.updatedAt], ['done', T0 + 30, T0 + 30])
  })

  it('a completion whose task is already merged through another entry, or already done, leaves it done, not in review', () => {
    // An attempt begun where an earlier attempt's merge was not yet known: its own entry waits, but
    // the leader will refuse it as a duplicate, so 'review' would never end.
    const queued = change(claimed(withTask(), 'a1', 0, T0), (d) => {
      enqueueMerge(d, { id: 'm2', taskId: 't1', assignmentId: 'a1', agentId: 'ag', branch: 'fleet/t1', commit: null, priority: 0 }, T0 + 1)
    })
    const known = change(A.clone(queued), (d) => { completeAssignment(d, { id: 'a1', taskId: 't1', summary: '', inReview: true, merged: true }, T0 + 2) })
    assert.equal(readTask(known, 't1')?.status, 'done')
    const done = change(A.clone(queued), (d) => { writeTaskState(d, 't1', { status: 'done' }) })
    const after = change(done, (d) => { completeAssignment(d, { id: 'a1', taskId: 't1', summary: '', inReview: true, merged: false }, T0 + 2) })
    assert.equal(readTask(after, 't1')?.status, 'done', 'a done task does not go back to review')
  })

  it('an ejection reopens the attempt that produced the branch, or finishes a task already on main', () => {
    const base = change(claimed(withTask(), 'a1', 0, T0), (d) => {
      enqueueMerge(d, { id: 'm1', taskId: 't1', assignmentId: 'a1', agentId: 'ag', branch: 'fleet/t1', commit: null, priority: 0 }, T0 + 1)
      completeAssignment(d, { id: 'a1', taskId: 't1', summary: '', inReview: true, merged: false }, T0 + 2)
    })
    const ejection = { id: 'm1', taskId: 't1', assignmentId: 'a1', branch: 'fleet/t1', reason: 'conflict in a.ts', output: 'CONFLICT' }
    const reopened = change(A.clone(base), (d) => { ejectMerge(d, { ...ejection, reopen: true }, T0 + 40) })
    const t = readTask(reopened, 't1')
    assert.deepEqual([t?.status, t?.attempt, t?.reason, t?.updatedAt], ['pending', 1, 'merge of fleet/t1 ejected: conflict in a.ts', T0 + 40])
    const onMain = change(A.clone(base), (d) => { ejectMerge(d, { ...ejection, reopen: false }, T0 + 40) })
    assert.equal(readTask(onMain, 't1')?.status, 'done')
  })

  it('agents: registration is stamped with the given time; a token cut-off never moves back', () => {
    let doc = change(genesis('aa'), (d) => { registerAgent(d, { id: 'ag', role: 'backend', nodeId: 'n1' }, T0) })
    assert.equal(doc.agents.ag?.registeredAt, T0)
    assert.equal(read(doc.agents.ag?.name), 'ag')
    let cutoff: number | null = null
    doc = change(doc, (d) => { cutoff = revokeAgentTokens(d, 'ag', T0 + 100) })
    assert.equal(cutoff, T0 + 100)
    doc = change(doc, (d) => { cutoff = revokeAgentTokens(d, 'ag', T0 + 50) })
    assert.equal(cutoff, T0 + 100)
    assert.equal(doc.agents.ag?.tokensRevokedBefore, T0 + 100)
    change(doc, (d) => { assert.equal(revokeAgentTokens(d, 'nobody', T0), null) })
  })

  it('a plan import writes epics, tasks and the plan record with the given time', () => {
    const task = { id: 'p1', title: 'P', epic: 'e1', description: '', estimatedHours: 3, role: null, dependsOn: [], priority: 1, acceptance: null, order: 0 }
    const guard: ImportGuard = { exists: () => false, untouched: () => true }
    const doc = change(withTask(), (d) => {
      writeEpic(d, { op: 'add', epic: { id: 'e1', title: 'E', role: null, order: 0 } })
      for (const op of [{ op: 'add', task }, { op: 'update', id: 't1', fields: { title: 'T2' } }, { op: 'skip', id: 'x' }] as const) writeImportTask(d, op, 'plan', guard, T0 + 500)
      finishPlanImport(d, { plan: { id: 'plan', title: 'Plan' }, digest: 'abc' }, T0 + 500)
    })
    assert.equal(doc.plan.importedAt, T0 + 500)
    assert.equal(read(doc.epics.e1?.title), 'E')
    assert.deepEqual([readTask(doc, 'p1')?.createdAt, readTask(doc, 'p1')?.source], [T0 + 500, 'plan'])
    assert.deepEqual([readTask(doc, 't1')?.title, readTask(doc, 't1')?.updatedAt, readTask(doc, 't1')?.createdAt], ['T2', T0 + 500, T0])
  })

  it('evidence and progress snapshots are stamped with the given time', () => {
    const doc = change(genesis('aa'), (d) => {
      addEvidence(d, { id: 'ev1', taskId: 't1', assignmentId: 'a1', agentId: 'ag', kind: 'log', content: 'ok', uri: null, sha256: 'ab' }, T0 + 1)
      addSnapshot(d, { id: 's1', nodeId: 'n1', summary: '{}' }, T0 + 2)
    })
    const ev = getIn(doc.evidence, 'ev1')
    assert.deepEqual([ev?.createdAt, read(ev?.content), ev?.uri], [T0 + 1, 'ok', null])
    assert.equal(doc.snapshots.s1?.takenAt, T0 + 2)
  })

  it('task specs keep the stored JSON form (key order and fields), however they are built or edited', () => {
    // The spec is stored as this JSON string; documents written before must read and compare the same.
    const stored = '{"title":"T","epic":"E1","description":"d","estimatedHours":2,"role":null,"dependsOn":["a"],"priority":3,"acceptance":null,"order":7,"source":"plan","createdAt":1700000000000}'
    const input = { acceptance: null, order: 7, priority: 3, dependsOn: ['a'], role: null, estimatedHours: 2, description: 'd', epic: 'E1', title: 'T', id: 'x', extra: 1 }
    const spec = newTaskSpec(input, 'plan', T0)
    assert.equal(JSON.stringify(spec), stored)
    const record = { ...spec, id: 'x', status: 'pending', attempt: 0 }
    assert.equal(JSON.stringify(specOf(record)), stored, 'a record\'s state fields are not part of its spec')
    const edited = editTaskSpec(record, { title: 'T2', role: undefined, dependsOn: ['b'] })
    assert.equal(JSON.stringify(edited), stored.replace('"T"', '"T2"').replace('["a"]', '["b"]'))
    edited.dependsOn.push('c')
    assert.deepEqual(spec.dependsOn, ['a'], 'copies share no arrays')
  })
})
