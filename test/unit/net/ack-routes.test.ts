import assert from 'node:assert/strict'
import { AckRoutes, nextHops, type RouteGraph } from '../../../node/net/ack-routes.js'

/** A graph as one node (`self`) sees it: its sessions, and the links other members announced. */
function graph (self: string, links: Array<[string, string]>, dead: string[] = []): RouteGraph & { nbrs: Map<string, string[]> } {
  const nbrs = new Map<string, string[]>()
  for (const [x, y] of links) {
    nbrs.set(x, [...(nbrs.get(x) ?? []), y])
    nbrs.set(y, [...(nbrs.get(y) ?? []), x])
  }
  const mine = new Set(nbrs.get(self) ?? [])
  return {
    nbrs,
    selfId: self,
    neighbours: () => mine,
    neighboursOf: (n) => n === self ? [] : nbrs.get(n) ?? [],
    isLive: (n) => !dead.includes(n),
    members: () => nbrs.keys()
  }
}

describe('ack routes over the announced overlay', () => {
  it('sends to a neighbour directly and to a farther member through the first hop of a shortest path', () => {
    // a - b - c - d, and a - e - d: d is 2 hops away through e, 3 through b.
    const g = graph('a', [['a', 'b'], ['b', 'c'], ['c', 'd'], ['a', 'e'], ['e', 'd']])
    const hops = nextHops(g)
    assert.equal(hops.get('b'), 'b')
    assert.equal(hops.get('c'), 'b')
    assert.equal(hops.get('d'), 'e')
    assert.equal(hops.has('a'), false, 'no route to ourselves')
  })

  it('routes around a member that is not live, and knows no route when only a dead member leads there', () => {
    const g = graph('a', [['a', 'b'], ['b', 'c'], ['a', 'e'], ['e', 'c'], ['c', 'd']], ['b'])
    assert.equal(nextHops(g).get('c'), 'e', 'around the dead b')
    const cut = graph('a', [['a', 'b'], ['b', 'c']], ['b'])
    const routes = new AckRoutes(cut)
    assert.equal(routes.nextHop('c'), null, 'c is reachable only through the dead b')
  })

  it('uses a link either end announced (the other end\'s announcement may still be on its way)', () => {
    const g = graph('a', [['a', 'b']])
    g.nbrs.set('c', ['b']) // only c announced the b - c link
    assert.equal(nextHops(g).get('c'), 'b')
  })

  it('computes the table once per graph change, not per ack', () => {
    const g = graph('a', [['a', 'b'], ['b', 'c'], ['c', 'd']])
    const routes = new AckRoutes(g)
    for (let i = 0; i < 100; i++) assert.equal(routes.nextHop('d'), 'b')
    assert.equal(routes.computed, 1)
    g.nbrs.set('d', ['c', 'a'])
    routes.invalidate()
    assert.equal(routes.nextHop('d'), 'b', 'a link only d announced (a holds no session with d) is not a first hop')
    assert.equal(routes.computed, 2)
  })
})
