import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { DocStore } from '../../../crdt/doc-store.js'
import { completeAssignment } from '../../../crdt/mutations/assignments.js'
import { writeTaskState } from '../../../crdt/task-records.js'
import { MemoryChunkStore } from '../../../crdt/storage/memory-chunk-store.js'
import { DEFAULT_COORDINATION } from '../../../node/coord/settings.js'
import { DocMergeStore } from '../../../node/git/doc-merge-store.js'
import { silentLogger } from '../../../node/logger.js'
import { createServices, type Services } from '../../../node/services/index.js'

interface Replica { store: DocStore, services: Services }

async function replica (nodeId: string): Promise<Replica> {
  const store = await DocStore.open({ storage: new MemoryChunkStore(), logger: silentLogger() })
  return { store, services: createServices({ store, nodeId, settings: DEFAULT_COORDINATION, livePeers: () => [] }) }
}

/** Brings `to` up to date with `from` (what gossip and sync do between nodes). */
function sync (from: Replica, to: Replica): void {
  to.store.applyRemote(A.getChanges(to.store.doc, from.store.doc))
}

/**
 * The leader's view of the merge queue (DocMergeStore) fences entries before the runner sees them.
 * A storm test (pipeline.test.ts, leader killed during a check) once ended with a task merged once
 * and then ~100 attempts at it ejected one after another: the second entry of an already merged
 * task was ejected with the task sent back to pending on a new attempt, whose entry was ejected
 * the same way, forever.
 */
describe('the leader\'s merge queue store', () => {
  it('ejects a second entry of a task already merged and finishes the task, instead of sending it back for another attempt', async function () {
    // (A completion that knows of the merge finishes the task itself: test/unit/crdt/mutations.test.ts.)
    this.timeout(30_000)
    const leader = await replica('leader')
    const other = await replica('other')
    try {
      // Attempt 1 by X, queued.
      await leader.services.tasks.create({ id: 'T', title: 'work', role: 'dev' })
      await leader.services.agents.register({ id: 'X', role: 'dev' })
      await leader.services.agents.register({ id: 'Y', role: 'dev' })
      const a1 = await leader.services.assignments.claim({ taskId: 'T', agentId: 'X' })
      await leader.services.assignments.confirm(a1.id)
      const { entry: e1 } = await leader.services.mergeQueue.enqueue({ taskId: 'T', assignmentId: a1.id, branch: 'fleet/T', commit: 'a'.repeat(40) })
      sync(leader, other)

      // Meanwhile on another node, which has not heard of the merge: attempt 1 ends (its node
      // died before its completion spread) and Y takes the task and queues its own branch.
      await other.services.assignments.release(a1.id, 'its node died')
      const a2 = await other.services.assignments.claim({ taskId: 'T', agentId: 'Y' })
      await other.services.assignments.confirm(a2.id)
      await other.services.mergeQueue.enqueue({ taskId: 'T', assignmentId: a2.id, branch: 'fleet/T', commit: 'b'.repeat(40) })
      // The leader merges attempt 1's entry.
      await leader.services.mergeQueue.markMerged(e1.id, 'c'.repeat(40), 'leader')
      sync(leader, other)
      // Y completes with its entry waiting. Made concurrently with the merge, that completion's
      // 'review' and the merge's 'done' are two values of one key, and either may win; here
      // 'review' wins (written after the merge, as the conflict would leave it): the storm's state.
      await other.store.change((d) => { completeAssignment(d, { id: a2.id, taskId: 'T', summary: 'done on fleet/T', inReview: true, merged: false }, Date.now()) })
      await other.store.change((d) => { writeTaskState(d, 'T', { status: 'review' }) })
      sync(other, leader)
      assert.equal(leader.services.projection.get().taskById.get('T')?.status, 'review', 'the state the storm reached')

      const store = new DocMergeStore({ mergeQueue: leader.services.mergeQueue, projection: leader.services.projection, selfId: 'leader', isLive: () => true, logger: silentLogger() })
      assert.equal(await store.next(), null, 'nothing left to merge: the task is on main')
      const task = leader.services.projection.get().taskById.get('T')
      assert.equal(task?.status, 'done', `the task is done, not sent back (status ${String(task?.status)}, attempt ${String(task?.attempt)}, ${String(task?.reason)})`)
      const second = leader.services.mergeQueue.forAssignment(a2.id)[0]
      assert.equal(second?.state, 'ejected')
      assert.match(second?.reason ?? '', new RegExp(`already merged \\(entry ${e1.id}`))
    } finally {
      await leader.store.close()
      await other.store.close()
    }
  })
})
