import assert from 'node:assert/strict'
import { DEFAULT_HEADS_ANNOUNCE_MS, headsAnnounceMs, HEADS_ANNOUNCE_MEMBERS } from '../../../crdt/rules/swim.js'
import { PresenceDelta, type OwnPresence } from '../../../node/net/presence-delta.js'

const own: OwnPresence = { http: 'http://127.0.0.1:1', addrs: ['/ip4/127.0.0.1/tcp/1'], merger: false, nbrs: ['b', 'c'], beats: [] }

describe('PresenceDelta: what an announcement carries, and when there is one', () => {
  it('announces changed heads at most every DEFAULT_HEADS_ANNOUNCE_MS, and nothing while they stay the same', () => {
    const d = new PresenceDelta(0)
    assert.deepEqual(d.next(own, true, 0, ['h1']), [], 'the first, full announcement')
    assert.equal(d.next(own, false, 5_000, ['h1']), null, 'nothing changed')
    assert.equal(d.next(own, false, 5_000, ['h2']), null, 'heads changed, but the last announcement is recent')
    assert.deepEqual(d.next(own, false, DEFAULT_HEADS_ANNOUNCE_MS, ['h2']), [], 'heads changed and the interval passed')
    assert.equal(d.next(own, false, 3 * DEFAULT_HEADS_ANNOUNCE_MS, ['h2']), null, 'an idle node sends nothing, however long')
    assert.deepEqual(d.next(own, false, 3 * DEFAULT_HEADS_ANNOUNCE_MS, ['h3']), [])
  })

  it('any other announcement carries the heads too, and restarts their interval', () => {
    const d = new PresenceDelta(0)
    d.next(own, true, 0, ['h1'])
    const beat = { id: 'a1', at: 1, assignment: null, status: 'idle' }
    assert.deepEqual(d.next({ ...own, beats: [beat] }, false, 9_000, ['h2']), [beat], 'a changed beat goes out at once')
    assert.equal(d.next({ ...own, beats: [beat] }, false, 9_000 + DEFAULT_HEADS_ANNOUNCE_MS - 1, ['h2']), null, 'h2 went out with the beat')
  })

  it('a larger cluster announces heads less often, so each node receives as many announcements a second at 8 members as at 200', () => {
    assert.equal(headsAnnounceMs(1), DEFAULT_HEADS_ANNOUNCE_MS)
    assert.equal(headsAnnounceMs(HEADS_ANNOUNCE_MEMBERS), DEFAULT_HEADS_ANNOUNCE_MS)
    for (const n of [8, 32, 200]) {
      // n members, each announcing every headsAnnounceMs(n): what one node receives per second.
      const perNodePerS = n / (headsAnnounceMs(n) / 1000)
      assert.ok(Math.abs(perNodePerS - HEADS_ANNOUNCE_MEMBERS / (DEFAULT_HEADS_ANNOUNCE_MS / 1000)) < 0.01, `${perNodePerS.toFixed(2)} announcements per node per s at ${n} members`)
    }
    // A node of 32 busy members waits the longer interval between its heads announcements.
    const d = new PresenceDelta(0)
    d.next(own, true, 0, ['h1'], () => headsAnnounceMs(32))
    assert.equal(d.next(own, false, DEFAULT_HEADS_ANNOUNCE_MS, ['h2'], () => headsAnnounceMs(32)), null, 'due only after 4 x the base interval')
    assert.deepEqual(d.next(own, false, headsAnnounceMs(32), ['h2'], () => headsAnnounceMs(32)), [])
  })
})
