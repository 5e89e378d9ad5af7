import assert from 'node:assert/strict'
import { OrderedSet } from '../../../crdt/ordered-set.js'
import { checkHistories } from '../../helpers/property.js'

interface Key { order: number, id: string, tag: number }
const compare = (a: Key, b: Key): number => a.order - b.order || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

describe('OrderedSet: a bulk load (the full build) equals one add per key', () => {
  it('same keys in the same order (first of equal keys kept), and the same after later adds, deletes and cursors', () => {
    checkHistories(100, (rng) => {
      const blockSize = 1 + rng.int(8)
      // Few distinct orders and ids, so equal keys (compare 0) come up often.
      const keys = Array.from({ length: rng.int(300) }, (_, tag) => ({ order: rng.int(20), id: `t${rng.int(30)}`, tag }))
      const added = new OrderedSet<Key>(compare, blockSize)
      for (const k of keys) added.add(k)
      const loaded = new OrderedSet<Key>(compare, blockSize)
      loaded.load(keys)
      assert.deepEqual([...loaded], [...added], 'after the load')
      assert.equal(loaded.size, added.size)
      for (let step = 0; step < 40; step++) {
        const k = { order: rng.int(22), id: `t${rng.int(32)}`, tag: -step }
        if (rng.chance(0.5)) assert.equal(loaded.add(k), added.add(k), `add at step ${step}`)
        else assert.equal(loaded.delete(k), added.delete(k), `delete at step ${step}`)
        assert.deepEqual([...loaded.after(k)], [...added.after(k)], `after() at step ${step}`)
      }
      assert.deepEqual([...loaded], [...added], 'after the changes')
    })
  })

  it('refuses to load into a set that holds keys', () => {
    const s = new OrderedSet<Key>(compare)
    s.add({ order: 1, id: 'a', tag: 0 })
    assert.throws(() => { s.load([{ order: 2, id: 'b', tag: 1 }]) }, /needs an empty set/)
  })
})
