import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { putIn } from '../../../crdt/collections.js'
import { EvidenceIndex } from '../../../crdt/evidence-index.js'
import { genesis, str, type FleetDoc } from '../../../crdt/schema.js'

/** A document that changes through `add`, with an index fed each change's patches as the node does. */
function harness (): { add: (id: string, taskId: string, createdAt: number) => void, index: EvidenceIndex, doc: () => A.Doc<FleetDoc> } {
  let doc = genesis()
  const index = new EvidenceIndex(() => doc)
  return {
    index,
    doc: () => doc,
    add (id, taskId, createdAt) {
      doc = A.change(doc, { patchCallback: (p) => { index.notePatches(p) } }, (d) => {
        putIn(d.evidence, id, { id: str(id), taskId: str(taskId), assignmentId: str(`as-${taskId}`), agentId: str('agent'), kind: str('log'), content: str('x'), uri: null, sha256: str('0'.repeat(64)), createdAt })
      })
    }
  }
}

describe('crdt/evidence-index', () => {
  it('lists the newest first, at most limit, only after since, and skips what accept refuses', () => {
    const h = harness()
    h.index.size() // built now, then kept up to date from patches
    for (let i = 1; i <= 50; i++) h.add(`e${String(i).padStart(2, '0')}`, `T${i % 3}`, 1000 + i * 10)
    assert.deepEqual(h.index.newest(3, null, () => true).map(e => e.id), ['e50', 'e49', 'e48'])
    assert.deepEqual(h.index.newest(100, 1000 + 46 * 10, () => true).map(e => e.id), ['e50', 'e49', 'e48', 'e47'])
    assert.deepEqual(h.index.newest(2, null, e => e.taskId === 'T0').map(e => e.id), ['e48', 'e45'])
    assert.deepEqual(h.index.ofTask('T1').slice(0, 3).map(e => e.id), ['e01', 'e04', 'e07'])
  })

  it('places evidence that arrives late (an older createdAt, e.g. from a peer) in time order', () => {
    const h = harness()
    h.index.size()
    h.add('b', 'T1', 200)
    h.add('c', 'T1', 300)
    h.add('a', 'T1', 100)
    h.add('b2', 'T2', 200) // same time as b: ordered by id
    assert.deepEqual(h.index.newest(10, null, () => true).map(e => e.id), ['c', 'b2', 'b', 'a'])
    assert.deepEqual(h.index.ofTask('T1').map(e => e.id), ['a', 'b', 'c'])
  })

  it('gives the same answer kept up to date from patches as rebuilt from the whole document', () => {
    const h = harness()
    h.index.size()
    for (let i = 0; i < 60; i++) h.add(`id-${(i * 37) % 60}`, `T${i % 5}`, (i * 7919) % 1000)
    const rebuilt = new EvidenceIndex(h.doc)
    assert.equal(h.index.size(), 60)
    assert.deepEqual(h.index.newest(60, null, () => true), rebuilt.newest(60, null, () => true))
    assert.deepEqual(h.index.ofTask('T3'), rebuilt.ofTask('T3'))
  })
})
