import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { chooseTrims, peersOf, type DialerConnection, type TrimCandidate } from '../../../bootstrap/trim.js'

const NOW = 1_000_000
const GRACE = 10_000

/** An inbound, non-bootstrap peer connected a minute ago, announcing these neighbours. */
function peer (id: string, nbrs: string[], over: Partial<TrimCandidate> = {}): TrimCandidate {
  return { peer: id, inbound: true, bootstrap: false, openedAt: NOW - 60_000, nbrs, ...over }
}

function trims (peers: TrimCandidate[], cap: number, announced: Record<string, string[]> = {}): string[] {
  return chooseTrims({ selfId: 'me', peers, cap, now: NOW, graceMs: GRACE, neighboursOf: (id) => announced[id] ?? [] })
}

describe('bootstrap/trim: which inbound connections a node over its cap closes', () => {
  it('closes nothing at or under the cap', () => {
    assert.deepEqual(trims([peer('a', ['b', 'c']), peer('b', ['a', 'c'])], 2), [])
  })

  it('closes only as many as the excess', () => {
    const ps = ['a', 'b', 'c', 'd', 'e'].map(id => peer(id, ['a', 'b', 'c', 'd', 'e']))
    assert.equal(trims(ps, 3).length, 2)
  })

  it('never closes an outbound, bootstrap or young connection, nor one whose peer announced no other neighbour', () => {
    const ps = [
      peer('out', ['x', 'y'], { inbound: false }),
      peer('boot', ['x', 'y'], { bootstrap: true }),
      peer('young', ['x', 'y'], { openedAt: NOW - GRACE + 1 }),
      peer('lone', ['me']),
      peer('silent', []),
      peer('x', ['y', 'z']),
      peer('y', ['x', 'z'])
    ]
    assert.deepEqual(trims(ps, 0).sort(), ['x', 'y'], 'only the two safe ones, though 7 are over the cap')
  })

  it('closes a peer with a single other neighbour only if we share it (two hops still join us), and never both of two that are each other\'s way back', () => {
    // b's way back is c and c's is b: closing both would leave them an island of two.
    assert.deepEqual(trims([peer('a', ['me', 'far']), peer('b', ['me', 'c']), peer('c', ['me', 'b'])], 1), ['b'])
    assert.deepEqual(trims([peer('a', ['me', 'far']), peer('b', ['me', 'c']), peer('c', ['me', 'b'])], 2), ['b'], 'the oldest-equal tie is broken by id')
  })

  it('closes a peer whose one other neighbour announced one of ours (three hops still join us), keeping that one', () => {
    // Joiners j1..j3 each dialed us and z; z is not ours but announced them: the star a bootstrap
    // node with --max-peers 2 was left holding (5 peers, cap 3) when only two-hop paths counted.
    const js = ['j1', 'j2', 'j3'].map(id => peer(id, ['me', 'z']))
    const out = [peer('o1', ['x'], { inbound: false }), peer('o2', ['y'], { inbound: false })]
    const announced = { z: ['j1', 'j2', 'j3'] }
    assert.deepEqual(trims([...js, ...out], 3, announced), ['j1', 'j3'], 'j2 stays: it is the way back of both')
    assert.deepEqual(trims([...js, ...out], 3), [], 'without z\'s announcement no path is known')
  })

  it('prefers peers sharing a neighbour, then those with >= 2 other neighbours, then the oldest connection', () => {
    const ps = [
      peer('unshared2', ['far1', 'far2'], { openedAt: NOW - 90_000 }),
      peer('shared1', ['k'], { openedAt: NOW - 90_000 }),
      peer('shared2-new', ['k', 'far1'], { openedAt: NOW - 20_000 }),
      peer('shared2-old', ['k', 'far2'], { openedAt: NOW - 80_000 }),
      peer('k', ['me'], { inbound: false })
    ]
    assert.deepEqual(trims(ps, 1), ['shared2-old', 'shared2-new', 'shared1', 'unshared2'])
  })

  it('groups connections by peer: inbound only if every connection to it is, opened at the oldest', async () => {
    const [p, q] = await Promise.all([0, 1].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
    if (p === undefined || q === undefined) throw new Error('no peer ids')
    const conns: DialerConnection[] = [
      { remotePeer: p, direction: 'inbound', timeline: { open: 5 } },
      { remotePeer: p, direction: 'inbound', timeline: { open: 3 } },
      { remotePeer: q, direction: 'inbound', timeline: { open: 1 } },
      { remotePeer: q, direction: 'outbound', timeline: { open: 2 } }
    ]
    const asked: string[] = []
    const got = peersOf(conns, new Set(), () => false, (id) => { asked.push(id); return ['n'] })
    assert.deepEqual(got.map(c => [c.peer, c.inbound, c.openedAt, c.nbrs]), [[p.toString(), true, 3, ['n']], [q.toString(), false, 1, []]])
    assert.deepEqual(asked, [p.toString()], 'neighbours are looked up only for peers that could be trimmed')
    assert.deepEqual(peersOf(conns, new Set([p.toString()]), () => false, () => []).map(c => c.peer), [q.toString()], 'a peer being closed is left out')
  })
})
