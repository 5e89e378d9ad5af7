import assert from 'node:assert/strict'
import { Suspicions } from '../../../node/net/suspicions.js'

describe('Suspicions: Lifeguard confirmations of a suspect member', () => {
  const held = (incarnation: number, since: number) => () => ({ status: 'suspect' as const, incarnation, statusSince: since })

  it('declares a member suspected by one node alone dead only after the longest timeout', () => {
    const s = new Suspicions({ minMs: 1000, maxFactor: 3 })
    s.start('m', 4, 0, 'a', 5)
    assert.deepEqual(s.expired(1000, held(4, 0)), [], 'not at the shortest timeout')
    assert.deepEqual(s.expired(2999, held(4, 0)), [])
    assert.deepEqual(s.expired(3000, held(4, 0)), [['m', { status: 'dead', incarnation: 4 }]])
  })

  it('shortens to the shortest timeout once two other members suspect it at the same incarnation, counting each once', () => {
    const s = new Suspicions({ minMs: 1000, maxFactor: 3 })
    s.start('m', 4, 0, 'a', 5)
    assert.equal(s.confirm('m', 4, 'b'), true, 'a new suspecter')
    assert.equal(s.confirm('m', 4, 'b'), false, 'the same one again')
    assert.ok((s.timeoutMs('m') as number) > 1000, 'one distinct confirmation is not enough')
    s.confirm('m', 3, 'c')
    assert.ok((s.timeoutMs('m') as number) > 1000, 'a suspicion of an older incarnation does not confirm')
    s.confirm('m', 4, 'c')
    assert.equal(s.timeoutMs('m'), 1000)
    assert.deepEqual(s.expired(1000, held(4, 0)).map(([m]) => m), ['m'])
  })

  it('drops a suspicion the peer table no longer holds (refuted) instead of declaring it dead', () => {
    const s = new Suspicions({ minMs: 1000 })
    s.start('m', 4, 0, 'a', 1)
    assert.deepEqual(s.expired(5000, () => ({ status: 'alive', incarnation: 5, statusSince: 10 })), [])
    assert.equal(s.size, 0)
    assert.equal(s.timeoutMs('m'), null)
  })
})
