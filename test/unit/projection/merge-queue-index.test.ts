import assert from 'node:assert/strict'
import { DocStore } from '../../../crdt/doc-store.js'
import { str } from '../../../crdt/schema.js'
import { silentLogger } from '../../../node/logger.js'
import { MergeQueueService, mergeOrder, type MergeEntryView } from '../../../node/services/merge-queue.js'
import { entryView } from '../../../node/services/merge-queue-view.js'
import { MemoryChunkStore } from '../../../crdt/storage/memory-chunk-store.js'
import { checkHistoriesAsync } from '../../helpers/property.js'

/** The merge queue's index (kept from patches) against plain passes over the document's queue. */
describe('merge queue index', () => {
  it('answers like a pass over every entry after random enqueues, merges and ejections', async function () {
    this.timeout(60_000)
    await checkHistoriesAsync(3, async (rng) => {
      const store = await DocStore.open({ storage: new MemoryChunkStore(), logger: silentLogger() })
      const q = new MergeQueueService({ store, projection: undefined as never })
      const all = (): MergeEntryView[] => Object.values(store.doc.mergeQueue).map(entryView).sort(mergeOrder)
      let n = 0
      try {
        for (let i = 0; i < 120; i++) {
          const x = rng.float()
          const id = `e${rng.int(n + 1)}`
          const task = `T${rng.int(6)}`
          const priority = rng.int(3)
          const have = store.doc.mergeQueue[id]
          if (have === undefined || x < 0.4) {
            const nid = `e${n++}`
            await store.change((d) => {
              d.mergeQueue[nid] = { id: str(nid), taskId: str(task), assignmentId: str(`a-${task}`), agentId: str('agent'), branch: str(`b/${nid}`), commit: null, priority, enqueuedAt: n, state: str('queued'), sha: null, reason: null, output: null, leader: null, updatedAt: 0 }
            })
          } else if (x < 0.6) await q.markMerging(id, 'leader')
          else if (x < 0.8) await q.markMerged(id, 'f'.repeat(40), 'leader')
          else await q.eject(id, 'conflict', '', 'leader', { reopen: false })
          const entries = all()
          assert.deepEqual(q.list(), entries, `list after step ${i}`)
          assert.deepEqual(q.active(), entries.filter(e => e.state === 'queued' || e.state === 'merging'), `active after step ${i}`)
          for (let t = 0; t < 6; t++) {
            assert.equal(q.mergedFor(`T${t}`)?.id, entries.find(e => e.taskId === `T${t}` && e.state === 'merged')?.id, `mergedFor(T${t}) after step ${i}`)
          }
          const counts: Record<string, number> = { queued: 0, merging: 0, merged: 0, ejected: 0 }
          for (const e of entries) counts[e.state] = (counts[e.state] ?? 0) + 1
          assert.deepEqual(q.countsByState(), counts, `counts after step ${i}`)
        }
      } finally {
        await store.close()
      }
    })
  })
})
