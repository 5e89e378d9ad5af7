import assert from 'node:assert/strict'
import { DEFAULT_PROBE_TARGETS, PROBE_BACK_ROUNDS, probeTargets, type SwimTiming } from '../../../crdt/rules/swim.js'
import type { SwimFrame } from '../../../crdt/wire.js'
import { Prober } from '../../../node/net/prober.js'
import { waitFor } from '../../../scripts/lib/wait.js'

const timing: SwimTiming = { roundMs: 100, probeTimeoutMs: 30, indirectTimeoutMs: 30, suspicionMs: 200, indirectProbes: 1 }

interface PairOptions {
  /** Frames between these two are lost (a partition), though each still holds the other a neighbour. */
  cut?: (a: string, b: string) => boolean
  sweepRounds?: number
}

/** Probers wired to each other in process; `deaf` ones receive and send nothing (crashed or hung); neighbours default to all the others, and each member announced its own. */
function pair (ids: string[], deaf = new Set<string>(), neighbours = (id: string): Set<string> => new Set(ids.filter(x => x !== id)), opts: PairOptions = {}): Map<string, { prober: Prober, suspected: string[], sent: SwimFrame[], alive: Set<string> }> {
  const nodes = new Map<string, { prober: Prober, suspected: string[], sent: SwimFrame[], alive: Set<string> }>()
  for (const id of ids) {
    const suspected: string[] = []
    const sent: SwimFrame[] = []
    const alive = new Set<string>()
    const prober = new Prober({
      selfId: id,
      timing,
      sweepRounds: opts.sweepRounds,
      neighbours: () => neighbours(id),
      neighboursOf: (member) => [...neighbours(member)],
      send: (peer, frame) => {
        if (deaf.has(id)) return true
        sent.push(frame)
        if (opts.cut?.(id, peer) === true) return true
        setImmediate(() => { if (!deaf.has(peer)) nodes.get(peer)?.prober.receive(id, frame) })
        return true
      },
      heads: () => [],
      onAlive: (peer) => { alive.add(peer) },
      onSuspect: (peer) => { suspected.push(peer) }
    })
    nodes.set(id, { prober, suspected, sent, alive })
  }
  return nodes
}

describe('Prober: a few probe targets per node, Lifeguard local health', function () {
  this.timeout(20_000)
  let running: Prober[] = []
  afterEach(() => { for (const p of running) p.stop(); running = [] })

  it('sends its k pings per round whatever its degree, and every node still hears from others', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `n${i}`)
    const nodes = pair(ids)
    running = [...nodes.values()].map(n => n.prober)
    const t0 = Date.now()
    for (const p of running) p.start()
    await waitFor(() => Date.now() - t0 >= 15 * timing.roundMs, '15 rounds', 10_000, 10)
    const rounds = (Date.now() - t0) / timing.roundMs
    const perRound = running.map(p => p.stats.probes / rounds)
    // Every neighbour once per round (9 here, or half that probed one way) would be 4.5 or more.
    assert.ok(perRound.every(r => r <= DEFAULT_PROBE_TARGETS + 1), `pings per node per round: ${perRound.map(r => r.toFixed(1)).join(' ')} (${DEFAULT_PROBE_TARGETS} targets each)`)
    for (const [id, n] of nodes) {
      const heardBy = [...nodes.values()].filter(o => o.alive.has(id)).length
      assert.ok(heardBy >= DEFAULT_PROBE_TARGETS, `${id} shown alive to ${heardBy} others (its ${DEFAULT_PROBE_TARGETS} targets at least)`)
      assert.deepEqual(n.suspected, [], `${id} suspected nobody`)
    }
  })

  it('while the overlay forms and targets change, released targets are checked once, not back and forth forever', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `n${i}`)
    const t0 = Date.now()
    // Each node's neighbours grow by ring distance, one step per round, until all are linked.
    const nbrs = (id: string): Set<string> => {
      const i = ids.indexOf(id)
      const r = Math.min(6, 1 + Math.floor((Date.now() - t0) / timing.roundMs))
      return new Set(ids.filter((_, j) => j !== i && Math.min(Math.abs(i - j), 12 - Math.abs(i - j)) <= r))
    }
    running = [...pair(ids, new Set(), nbrs).values()].map(n => n.prober)
    for (const p of running) p.start()
    const checks = (): number => running.reduce((a, p) => a + p.stats.checks, 0)
    await waitFor(() => Date.now() - t0 >= 15 * timing.roundMs, 'the overlay formed and 8 rounds more', 10_000, 10)
    const before = checks()
    const t1 = Date.now()
    await waitFor(() => Date.now() - t1 >= 15 * timing.roundMs, '15 rounds', 10_000, 10)
    // A node that checked a released target and was then checked back by it kept a pair pinging each other each round.
    assert.ok(checks() - before <= 3, `${checks() - before} checks in 15 rounds of a formed overlay`)
  })

  it('a member that crashes is probed and suspected by the neighbours it pinged, and only it', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `n${i}`)
    const deaf = new Set<string>()
    const nodes = pair(ids, deaf)
    running = [...nodes.values()].map(n => n.prober)
    for (const p of running) p.start()
    const t0 = Date.now()
    await waitFor(() => Date.now() - t0 >= 5 * timing.roundMs, '5 rounds', 10_000, 10)
    const victim = nodes.get('n3') as { prober: Prober }
    victim.prober.stop()
    deaf.add('n3')
    const crashedAt = Date.now()
    await waitFor(() => [...nodes.values()].some(n => n.suspected.includes('n3')), 'a neighbour to suspect the crashed n3', 10_000, 10)
    const took = Date.now() - crashedAt
    const bound = (1 + PROBE_BACK_ROUNDS) * timing.roundMs + timing.probeTimeoutMs + timing.indirectTimeoutMs
    assert.ok(took <= bound + 300, `suspected ${took} ms after the crash (bound ${bound} ms plus scheduling slack)`)
    const wrong = [...nodes.entries()].filter(([id]) => id !== 'n3').flatMap(([, n]) => n.suspected.filter(s => s !== 'n3'))
    assert.deepEqual(wrong, [], 'no live member suspected')
  })

  it('a member that hangs right after its first ping to a new target is suspected by that target', async () => {
    // Three nodes where x pings t, and t and u ping each other: nobody but t watches x.
    const names = Array.from({ length: 200 }, (_, i) => `m${i}`)
    const target = (self: string, others: string[]): string | undefined => probeTargets(self, others, 1)[0]
    let ids: [string, string, string] | null = null
    for (const x of names.slice(0, 20)) {
      for (const t of names) {
        const u = names.find(m => m !== x && m !== t && target(x, [t, m]) === t && target(t, [x, m]) === m && target(m, [x, t]) === t)
        if (u !== undefined && t !== x) { ids = [x, t, u]; break }
      }
      if (ids !== null) break
    }
    assert.ok(ids !== null, 'three names where x is nobody\'s target')
    const [x, t] = ids
    const deaf = new Set<string>()
    const nodes = pair(ids, deaf)
    running = [...nodes.values()].map(n => n.prober)
    const tNode = nodes.get(t) as { prober: Prober, suspected: string[] }
    const xSent = nodes.get(x)?.sent as SwimFrame[]
    for (const p of running) p.start()
    await waitFor(() => xSent.some(f => f.t === 'ping'), `${x}'s first ping`, 10_000, 1)
    deaf.add(x)
    const hungAt = Date.now()
    await waitFor(() => tNode.suspected.includes(x), `${t}, the target ${x} pinged once, to suspect it`, 10_000, 10)
    const took = Date.now() - hungAt
    const bound = (1 + PROBE_BACK_ROUNDS) * timing.roundMs + timing.probeTimeoutMs + timing.indirectTimeoutMs
    assert.ok(took <= bound + 300, `suspected ${took} ms after it hung (bound ${bound} ms plus scheduling slack)`)
  })

  it('under a partition, each side suspects every far-side neighbour, though no probe target crosses the cut (the sweep)', async () => {
    // Five names split 2 / 3 where every node's target is on its own side: without the sweep no
    // ping would ever cross the cut, and neither side would suspect the other.
    const names = Array.from({ length: 60 }, (_, i) => `p${i}`)
    let sides: [string[], string[]] | null = null
    for (let i = 0; i + 5 <= names.length && sides === null; i++) {
      const five = names.slice(i, i + 5)
      const left = five.slice(0, 2)
      const right = five.slice(2)
      const own = (x: string): string[] => left.includes(x) ? left : right
      if (five.every(x => own(x).includes(probeTargets(x, five.filter(y => y !== x), 1)[0] as string))) sides = [left, right]
    }
    assert.ok(sides !== null, 'five names whose targets all stay on their own side of a 2 / 3 cut')
    const [left, right] = sides
    const farOf = (x: string): string[] => left.includes(x) ? right : left
    const nodes = pair([...left, ...right], new Set(), undefined, { cut: (a, b) => farOf(a).includes(b) })
    running = [...nodes.values()].map(n => n.prober)
    for (const p of running) p.start()
    const missing = (): string[] => [...nodes].flatMap(([id, n]) => farOf(id).filter(f => !n.suspected.includes(f)).map(f => `${id}->${f}`))
    await waitFor(() => {
      const m = missing()
      if (m.length > 0) throw new Error(`not yet suspected: ${m.join(' ')}`)
      return true
    }, 'every node to suspect every far-side node', 15_000, 20)
    for (const [id, n] of nodes) {
      assert.ok(n.prober.stats.sweeps > 0, `${id} swept`)
      assert.deepEqual(n.suspected.filter(s => !farOf(id).includes(s)), [], `${id} suspected nobody on its own side`)
    }
  })

  it('still suspects a neighbour that stopped answering, and counts the failed probe against its own health', async () => {
    const nodes = pair(['a', 'b'], new Set(['b']))
    const a = nodes.get('a')?.prober as Prober
    running = [a]
    a.start()
    await waitFor(() => (nodes.get('a')?.suspected.length ?? 0) > 0, 'a to suspect the silent b', 10_000, 10)
    assert.ok(a.health >= 1, `health score ${a.health} after a failed probe`)
  })

  it('with a raised score, recovers on its targets\' acks in time', async () => {
    const nodes = pair(['a', 'b'])
    const a = nodes.get('a')?.prober as Prober
    const b = nodes.get('b')?.prober as Prober
    running = [a, b]
    for (let i = 0; i < 4; i++) a.adjustHealth(1)
    assert.equal(a.health, 4)
    a.start()
    b.start()
    await waitFor(() => a.health === 0, 'a\'s score back to 0 after acks in time', 10_000, 10)
  })
})
