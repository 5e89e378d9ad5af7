import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import { pino } from 'pino'
import { PeerDialer, learnableAddrs, type DialerConnection, type DialerHost, type PeerDialerInit } from '../../../bootstrap/dialer.js'
import { parseBootstrapAddr } from '../../../bootstrap/peers.js'

async function newPeerId (): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
}

type Listener = (evt: CustomEvent<PeerId>) => void

/** libp2p as far as the dialer sees it: records dials, succeeds or fails them as told. */
class FakeHost implements DialerHost {
  readonly connected = new Set<string>()
  /** Connected peers that dialed us (the rest we dialed), and when each connection opened (default 0). */
  readonly inbound = new Set<string>()
  readonly openedAt = new Map<string, number>()
  readonly hangUps: string[] = []
  readonly dials: Array<{ peer: string, addrs: string[], signal: AbortSignal }> = []
  /** Peers whose dials succeed; every other dial fails with ECONNREFUSED. */
  readonly reachable = new Set<string>()
  private readonly listeners = new Set<Listener>()
  pending: Array<() => void> = []
  hold = false

  constructor (readonly peerId: PeerId) {}

  getConnections (peerId?: PeerId): DialerConnection[] {
    const conn = (p: string): DialerConnection => ({ remotePeer: peerIdFromString(p), direction: this.inbound.has(p) ? 'inbound' : 'outbound', timeline: { open: this.openedAt.get(p) ?? 0 } })
    if (peerId === undefined) return [...this.connected].map(conn)
    return this.connected.has(peerId.toString()) ? [conn(peerId.toString())] : []
  }

  /** A peer dialed us at `at`. */
  accept (peer: string, at: number): void {
    this.connected.add(peer)
    this.inbound.add(peer)
    this.openedAt.set(peer, at)
  }

  async hangUp (peer: PeerId): Promise<void> {
    this.hangUps.push(peer.toString())
    this.disconnect(peer.toString())
  }

  async dial (addrs: Multiaddr[], options: { signal: AbortSignal }): Promise<unknown> {
    const peer = addrs[0]?.getPeerId() ?? ''
    this.dials.push({ peer, addrs: addrs.map(String), signal: options.signal })
    if (this.hold) await new Promise<void>((resolve) => this.pending.push(resolve))
    if (!this.reachable.has(peer)) throw new Error('connect ECONNREFUSED')
    this.connected.add(peer)
    return {}
  }

  addEventListener (_type: 'peer:disconnect', l: Listener): void { this.listeners.add(l) }
  removeEventListener (_type: 'peer:disconnect', l: Listener): void { this.listeners.delete(l) }

  disconnect (peer: string): void {
    this.connected.delete(peer)
    this.inbound.delete(peer)
    for (const l of this.listeners) l(new CustomEvent('peer:disconnect', { detail: peerIdFromString(peer) }))
  }

  dialsTo (peer: string): number {
    return this.dials.filter(d => d.peer === peer).length
  }
}

/** Lets the dial promises (and their then-handlers) run. */
async function settle (): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
}

interface LogLine { level: number, msg: string, peer?: string }

describe('bootstrap/dialer', () => {
  let self: string
  let a: string
  let b: string
  let host: FakeHost
  let now: number
  let logs: LogLine[]
  const dialers: PeerDialer[] = []

  before(async () => { self = await newPeerId(); a = await newPeerId(); b = await newPeerId() })
  beforeEach(() => {
    host = new FakeHost(peerIdFromString(self))
    now = 1_000_000
    logs = []
  })
  afterEach(() => { for (const d of dialers.splice(0)) d.stop() })

  function dialer (init: Partial<Omit<PeerDialerInit, 'bootstrap'>> & { bootstrap?: string[] } = {}): PeerDialer {
    const sink = new Writable({ write (chunk: Buffer, _enc, cb) { logs.push(JSON.parse(chunk.toString()) as LogLine); cb() } })
    const d = new PeerDialer({
      libp2p: host,
      logger: pino({ level: 'debug' }, sink),
      checkIntervalMs: 3_600_000, // the tests drive check() themselves
      random: () => 1, // the top of the jitter range: delays are exactly the backoff
      now: () => now,
      ...init,
      bootstrap: (init.bootstrap ?? []).map(s => parseBootstrapAddr(s))
    })
    dialers.push(d)
    return d
  }

  it('dials bootstrap peers at once, skipping its own entry', async () => {
    host.reachable.add(a)
    const d = dialer({ bootstrap: [`/ip4/10.0.0.1/tcp/4001/p2p/${a}`, `/ip4/10.0.0.9/tcp/4001/p2p/${self}`] })
    d.start()
    await settle()
    assert.deepEqual(host.dials.map(x => x.addrs), [[`/ip4/10.0.0.1/tcp/4001/p2p/${a}`]])
    assert.deepEqual(d.knownPeers(), [a])
    assert.equal(d.status()[0]?.connected, true)
  })

  it('redials an absent bootstrap peer with doubling backoff up to the maximum, then joins when it appears', async () => {
    const d = dialer({ bootstrap: [`/ip4/10.0.0.1/tcp/4001/p2p/${a}`], minBackoffMs: 100, maxBackoffMs: 1000 })
    d.start()
    await settle()
    const attemptsAt: number[] = [now]
    // Step the clock 10 ms at a time for 5 s; record when each dial happens.
    for (let t = 0; t < 5000; t += 10) {
      now += 10
      const before = host.dials.length
      d.check()
      await settle()
      if (host.dials.length > before) attemptsAt.push(now)
    }
    const gaps = attemptsAt.slice(1).map((t, i) => t - (attemptsAt[i] ?? 0))
    assert.deepEqual(gaps.slice(0, 6), [100, 200, 400, 800, 1000, 1000])
    const st = d.status()[0]
    assert.equal(st?.connected, false)
    assert.equal(st?.lastError, 'connect ECONNREFUSED')
    assert.ok((st?.failures ?? 0) >= 8)

    host.reachable.add(a)
    now += 1000
    d.check()
    await settle()
    assert.equal(d.status()[0]?.connected, true)
    assert.equal(d.status()[0]?.failures, 0)
    const connectedLog = logs.find(l => l.msg === 'connected to bootstrap peer')
    assert.ok(connectedLog !== undefined, 'joining is logged')
  })

  it('spreads retries with jitter between half and all of the backoff', async () => {
    let r = 0
    const d = dialer({ bootstrap: [`/ip4/10.0.0.1/tcp/4001/p2p/${a}`], minBackoffMs: 1000, random: () => r })
    d.start()
    await settle()
    assert.equal(d.status()[0]?.nextAttemptAt, now + 500, 'random 0 -> half the backoff')
    r = 0.999
    now += 500
    d.check()
    await settle()
    assert.equal(d.status()[0]?.nextAttemptAt, now + Math.round(1000 + 1000 * 0.999), 'random ~1 -> the whole (doubled) backoff')
  })

  it('reports since when a bootstrap peer has been unreachable, its last error and the next attempt, until it connects', async () => {
    const d = dialer({ bootstrap: [`/ip4/10.0.0.1/tcp/4001/p2p/${a}`], minBackoffMs: 100, maxBackoffMs: 100 })
    const failedAt = now
    d.start()
    await settle()
    now += 300
    d.check()
    await settle()
    const st = d.status()[0]
    assert.deepEqual([st?.connected, st?.dialing, st?.retryingSince, st?.lastError, st?.failures], [false, false, failedAt, 'connect ECONNREFUSED', 2])
    assert.equal(st?.nextAttemptAt, now + 100)
    host.reachable.add(a)
    now += 100
    d.check()
    await settle()
    assert.deepEqual([d.status()[0]?.connected, d.status()[0]?.retryingSince, d.status()[0]?.lastError], [true, null, null])
  })

  it('warns at once about a bootstrap name that does not resolve, and keeps retrying it', async () => {
    const lookup = async (): Promise<string[]> => { throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }) }
    const d = dialer({ bootstrap: [`/dns4/vm9.example.invalid/tcp/4001/p2p/${a}`], minBackoffMs: 100, maxBackoffMs: 100, lookup })
    d.start()
    await settle()
    for (let i = 0; i < 5; i++) {
      now += 100
      d.check()
      await settle()
    }
    const warnings = logs.filter(l => l.level === 40)
    assert.equal(warnings.length, 1, 'one warning, not one per retry')
    assert.match(warnings[0]?.msg ?? '', /bootstrap address does not resolve: cannot resolve vm9\.example\.invalid: ENOTFOUND; still retrying/)
    assert.equal(d.status()[0]?.failures, 6)
    assert.equal(host.dials.length, 0, 'nothing to dial without an address')
  })

  it('logs the first failure at info and one warning once the peer has been unreachable a while', async () => {
    const d = dialer({ bootstrap: [`/ip4/10.0.0.1/tcp/4001/p2p/${a}`], minBackoffMs: 100, maxBackoffMs: 100, warnAfterMs: 1000 })
    d.start()
    await settle()
    for (let i = 0; i < 30; i++) {
      now += 100
      d.check()
      await settle()
    }
    assert.equal(logs.filter(l => l.msg === 'bootstrap peer not reachable yet; retrying with backoff' && l.level === 30).length, 1)
    assert.equal(logs.filter(l => l.msg === 'bootstrap peer still unreachable; still retrying' && l.level === 40).length, 1)
  })

  it('redials promptly after a disconnect (a restarting peer), from the minimum backoff', async () => {
    host.reachable.add(a)
    const d = dialer({ bootstrap: [`/ip4/10.0.0.1/tcp/4001/p2p/${a}`], minBackoffMs: 100 })
    d.start()
    await settle()
    host.reachable.delete(a)
    host.disconnect(a)
    for (let i = 0; i < 5; i++) { now += 1000; d.check(); await settle() } // it stays away 5 s: backoff grows
    host.reachable.add(a)
    host.connected.add(a)
    host.disconnect(a) // up and down again: backoff starts over
    const dials = host.dialsTo(a)
    now += 99
    d.check()
    await settle()
    assert.equal(host.dialsTo(a), dials, 'not before the minimum backoff')
    now += 1
    d.check()
    await settle()
    assert.equal(host.dialsTo(a), dials + 1)
    assert.equal(d.status()[0]?.connected, true)
  })

  it('does not dial peers it is connected to', async () => {
    host.connected.add(a)
    const d = dialer({ bootstrap: [`/ip4/10.0.0.1/tcp/4001/p2p/${a}`] })
    d.start()
    for (let i = 0; i < 10; i++) { now += 1000; d.check(); await settle() }
    assert.equal(host.dials.length, 0)
  })

  it('learns peers from announcements and dials them (peer exchange)', async () => {
    host.reachable.add(b)
    const d = dialer()
    d.start()
    d.learn(self, [`/ip4/10.0.0.9/tcp/4001/p2p/${self}`])
    d.learn(b, ['/ip4/0.0.0.0/tcp/4001', `/ip4/127.0.0.1/tcp/4001/p2p/${b}`, `/ip4/10.0.0.2/tcp/4001/p2p/${b}`, `/ip4/10.0.0.2/udp/4001/quic-v1/p2p/${b}`, 'garbage'])
    d.check()
    await settle()
    assert.deepEqual(d.knownPeers(), [b], 'its own announcement is ignored')
    assert.deepEqual(host.dials.map(x => x.addrs), [[`/ip4/10.0.0.2/tcp/4001/p2p/${b}`]], 'only the dialable, non-loopback TCP address')
  })

  it('dials a learned peer again at once when it comes back on new addresses', async () => {
    const d = dialer({ minBackoffMs: 1000 })
    d.start()
    d.learn(b, [`/ip4/10.0.0.2/tcp/4001/p2p/${b}`])
    d.check()
    await settle()
    assert.equal(host.dialsTo(b), 1)
    d.learn(b, [`/ip4/10.0.0.2/tcp/4001/p2p/${b}`]) // same address: keep backing off
    d.check()
    await settle()
    assert.equal(host.dialsTo(b), 1)
    host.reachable.add(b)
    d.learn(b, [`/ip4/10.0.0.2/tcp/4999/p2p/${b}`])
    d.check()
    await settle()
    assert.deepEqual(host.dials.at(-1)?.addrs, [`/ip4/10.0.0.2/tcp/4999/p2p/${b}`])
    assert.equal(d.status()[0]?.connected, true)
  })

  it('forgets a learned peer nobody announces any more, never a bootstrap peer', async () => {
    const d = dialer({ bootstrap: [`/ip4/10.0.0.1/tcp/4001/p2p/${a}`], forgetAfterMs: 60_000, maxBackoffMs: 1000 })
    d.start()
    d.learn(b, [`/ip4/10.0.0.2/tcp/4001/p2p/${b}`])
    for (let i = 0; i < 30; i++) { now += 1000; d.check(); await settle() }
    d.learn(b, [`/ip4/10.0.0.2/tcp/4001/p2p/${b}`]) // still announced by someone
    for (let i = 0; i < 50; i++) { now += 1000; d.check(); await settle() }
    assert.deepEqual(d.knownPeers().sort(), [a, b].sort())
    for (let i = 0; i < 15; i++) { now += 1000; d.check(); await settle() }
    assert.deepEqual(d.knownPeers(), [a])
  })

  it('keeps at most maxPeers connections, bootstrap peers included, and replaces a dropped neighbour', async () => {
    const learned = await Promise.all(Array.from({ length: 6 }, newPeerId))
    for (const p of [a, ...learned]) host.reachable.add(p)
    const d = dialer({ bootstrap: [`/ip4/10.0.0.1/tcp/4001/p2p/${a}`], maxPeers: 3 })
    d.start()
    learned.forEach((p, i) => { d.learn(p, [`/ip4/10.0.1.${i + 1}/tcp/4001/p2p/${p}`]) })
    for (let i = 0; i < 5; i++) { now += 1000; d.check(); await settle() }
    assert.equal(host.connected.size, 3, 'the bootstrap peer and two learned ones')
    assert.ok(host.connected.has(a), 'the bootstrap peer is dialed first while joining')
    const dropped = [...host.connected].find(p => p !== a) as string
    host.reachable.delete(dropped) // it died: the slot goes to another member
    host.disconnect(dropped)
    for (let i = 0; i < 5; i++) { now += 1000; d.check(); await settle() }
    assert.equal(host.connected.size, 3, 'a dropped neighbour is replaced')
    assert.ok(!host.connected.has(dropped))
  })

  it('counts inbound connections against maxPeers, bootstrap peers included once it has joined', async () => {
    host.reachable.add(a)
    host.reachable.add(b)
    const inbound = await Promise.all(Array.from({ length: 2 }, newPeerId))
    for (const p of inbound) host.accept(p, now)
    const d = dialer({ bootstrap: [`/ip4/10.0.0.1/tcp/4001/p2p/${a}`], maxPeers: 2 })
    d.start()
    d.learn(b, [`/ip4/10.0.0.2/tcp/4001/p2p/${b}`])
    for (let i = 0; i < 3; i++) { now += 1000; d.check(); await settle() }
    assert.equal(host.dialsTo(a), 0, 'no room for the bootstrap peer: the node is in the overlay already')
    assert.equal(host.dialsTo(b), 0, 'no room for a learned peer')
    host.disconnect(inbound[0] as string)
    for (let i = 0; i < 3; i++) { now += 1000; d.check(); await settle() }
    assert.equal(host.connected.size, 2, 'the freed slot is filled by one candidate')
  })

  it('dials every bootstrap peer whatever the room while it has no connection', async () => {
    host.reachable.add(a)
    host.reachable.add(b)
    const d = dialer({ bootstrap: [`/ip4/10.0.0.1/tcp/4001/p2p/${a}`, `/ip4/10.0.0.2/tcp/4001/p2p/${b}`], maxPeers: 1 })
    d.start()
    await settle()
    assert.deepEqual([host.dialsTo(a), host.dialsTo(b)], [1, 1], 'both at once: the node joins through whichever answers')
  })

  describe('over the cap', () => {
    /** `count` peers that dialed us `age` ms ago, each announcing `nbrs(peer)` as its neighbours. */
    async function inboundPeers (count: number, age: number): Promise<string[]> {
      const peers = await Promise.all(Array.from({ length: count }, newPeerId))
      peers.forEach((p) => { host.accept(p, now - age) })
      return peers
    }

    it('trims inbound connections from non-bootstrap peers down to maxPeers + slack, keeping bootstrap, outbound, young and lone peers', async () => {
      host.connected.add(a) // we dialed our bootstrap peer when we joined
      const old = await inboundPeers(6, 60_000)
      const young = await inboundPeers(1, 1_000)
      const lone = await inboundPeers(1, 60_000)
      host.accept(b, now - 60_000) // a bootstrap peer of ours that dialed us
      // Everyone announced the other inbound peers as neighbours; the lone one only us.
      const nbrs = new Map<string, string[]>([...old, ...young, b].map(p => [p, [self, ...old.filter(x => x !== p)]]))
      nbrs.set(lone[0] as string, [self])
      const d = dialer({ bootstrap: [`/ip4/10.0.0.1/tcp/4001/p2p/${a}`, `/ip4/10.0.0.2/tcp/4001/p2p/${b}`], maxPeers: 4, neighboursOf: (p) => nbrs.get(p) ?? [] })
      assert.equal(d.cap, 6, 'maxPeers 4 + half of it')
      d.start()
      await settle()
      assert.equal(host.connected.size, 6, 'trimmed down to the cap (the outbound bootstrap connection counts)')
      assert.equal(host.hangUps.length, 4)
      for (const kept of [a, b, young[0], lone[0]]) assert.ok(host.connected.has(kept as string), `kept ${kept}`)
      for (let i = 0; i < 5; i++) { now += 1000; d.check(); await settle() }
      assert.equal(host.hangUps.length, 4, 'nothing more to trim at the cap')
    })

    it('trims nothing without knowing the peers\' neighbours', async () => {
      await inboundPeers(8, 60_000)
      const d = dialer({ maxPeers: 2 })
      d.check()
      await settle()
      assert.equal(host.hangUps.length, 0)
    })
  })

  describe('a joiner its bootstrap peer trimmed', () => {
    /** The bootstrap node holds more than our maxPeers (3) neighbours: it is the kind that trims. */
    const hubNbrs = ['n1', 'n2', 'n3', 'n4', 'n5']
    let live: Set<string>

    async function joined (init: Partial<Omit<PeerDialerInit, 'bootstrap'>> = {}): Promise<PeerDialer> {
      host.reachable.add(a)
      host.reachable.add(b)
      live = new Set([a, b])
      const d = dialer({ bootstrap: [`/ip4/10.0.0.1/tcp/4001/p2p/${a}`], maxPeers: 3, isLive: (p) => live.has(p), neighboursOf: (p) => p === a ? hubNbrs : [], redialQuietMs: 60_000, minBackoffMs: 100, ...init })
      d.start()
      d.learn(b, [`/ip4/10.0.0.2/tcp/4001/p2p/${b}`])
      for (let i = 0; i < 3; i++) { now += 1000; d.check(); await settle() }
      assert.ok(host.connected.has(a) && host.connected.has(b))
      return d
    }

    it('does not redial the bootstrap peer while it has other neighbours, and redials it at once when it has none', async () => {
      const d = await joined()
      host.disconnect(a) // the bootstrap node, still live, trimmed us
      const dials = host.dialsTo(a)
      for (let i = 0; i < 30; i++) { now += 1000; d.check(); await settle() }
      assert.equal(host.dialsTo(a), dials, 'room for one more, but the node that trimmed us is left alone')
      live.delete(b)
      host.reachable.delete(b)
      host.disconnect(b) // our only other neighbour died
      now += 1000
      d.check()
      await settle()
      assert.equal(host.dialsTo(a), dials + 1, 'alone: back to the bootstrap peer')
      assert.ok(host.connected.has(a))
    })

    it('redials it as a candidate once the quiet period is over', async () => {
      const d = await joined()
      host.disconnect(a)
      const dials = host.dialsTo(a)
      now += 59_000
      d.check()
      await settle()
      assert.equal(host.dialsTo(a), dials)
      now += 1_000
      d.check()
      await settle()
      assert.equal(host.dialsTo(a), dials + 1, 'a candidate like any other with room')
    })

    it('does not hold back a bootstrap peer that crashed (declared dead) or has few neighbours (restarting)', async () => {
      let d = await joined()
      host.disconnect(a) // it crashed: live for a moment, then declared dead
      const dials = host.dialsTo(a)
      now += 1000
      d.check()
      await settle()
      assert.equal(host.dialsTo(a), dials)
      live.delete(a)
      now += 1000
      d.check()
      await settle()
      assert.equal(host.dialsTo(a), dials + 1, 'redialed once membership says it is dead')

      d.stop()
      host = new FakeHost(peerIdFromString(self))
      d = await joined({ neighboursOf: () => [b] })
      host.disconnect(a) // a small cluster's bootstrap node restarting: not over anyone's bound
      now += 1000
      d.check()
      await settle()
      assert.equal(host.dialsTo(a), 2, 'redialed at once')
    })
  })

  it('refuses a maxPeers below 1', () => {
    assert.throws(() => dialer({ maxPeers: 0 }), /maxPeers/)
  })

  it('caps the number of learned peers', async () => {
    const d = dialer({ maxLearnedPeers: 1 })
    d.learn(a, [`/ip4/10.0.0.1/tcp/4001/p2p/${a}`])
    d.learn(b, [`/ip4/10.0.0.2/tcp/4001/p2p/${b}`])
    assert.deepEqual(d.knownPeers(), [a])
  })

  it('aborts a dial in flight on stop', async () => {
    host.hold = true
    const d = dialer({ bootstrap: [`/ip4/10.0.0.1/tcp/4001/p2p/${a}`] })
    d.start()
    await settle()
    assert.equal(host.dials[0]?.signal.aborted, false)
    d.stop()
    assert.equal(host.dials[0]?.signal.aborted, true)
    for (const release of host.pending) release()
    await settle()
    assert.equal(logs.filter(l => l.msg.includes('not reachable')).length, 0, 'an aborted dial is not a failure')
  })

  it('keeps loopback addresses of a peer that has nothing else (a local cluster)', () => {
    assert.deepEqual(learnableAddrs(a, [`/ip4/127.0.0.1/tcp/4001/p2p/${a}`]).map(String), [`/ip4/127.0.0.1/tcp/4001/p2p/${a}`])
    assert.deepEqual(learnableAddrs(a, ['/ip4/10.0.0.1/tcp/4001']).map(String), [`/ip4/10.0.0.1/tcp/4001/p2p/${a}`])
    assert.deepEqual(learnableAddrs(a, [`/ip4/10.0.0.1/tcp/4001/p2p/${b}`]), [], 'an address naming another peer')
  })
})
