import assert from 'node:assert/strict'
import type { SwimTiming } from '../../../crdt/rules/swim.js'
import type { SwimFrame } from '../../../crdt/wire.js'
import { Prober } from '../../../node/net/prober.js'
import { waitFor } from '../../../scripts/lib/wait.js'

const timing: SwimTiming = { roundMs: 100, probeTimeoutMs: 30, indirectTimeoutMs: 30, suspicionMs: 200, indirectProbes: 1 }

/** Probers wired to each other in process; `deaf` ones receive nothing (crashed). */
function pair (ids: string[], deaf = new Set<string>()): Map<string, { prober: Prober, suspected: string[], sent: SwimFrame[] }> {
  const nodes = new Map<string, { prober: Prober, suspected: string[], sent: SwimFrame[] }>()
  for (const id of ids) {
    const suspected: string[] = []
    const sent: SwimFrame[] = []
    const prober = new Prober({
      selfId: id,
      timing,
      neighbours: () => new Set(ids.filter(x => x !== id)),
      send: (peer, frame) => {
        sent.push(frame)
        setImmediate(() => { if (!deaf.has(peer)) nodes.get(peer)?.prober.receive(id, frame) })
        return true
      },
      heads: () => [],
      onAlive: () => {},
      onSuspect: (peer) => { suspected.push(peer) }
    })
    nodes.set(id, { prober, suspected, sent })
  }
  return nodes
}

describe('Prober: probes one way per pair, Lifeguard local health', function () {
  this.timeout(20_000)
  let running: Prober[] = []
  afterEach(() => { for (const p of running) p.stop(); running = [] })

  it('does not probe back a neighbour that probes it: two live neighbours exchange about half the pings', async () => {
    const nodes = pair(['a', 'b'])
    running = [...nodes.values()].map(n => n.prober)
    for (const p of running) p.start()
    const a = nodes.get('a')?.prober as Prober
    const b = nodes.get('b')?.prober as Prober
    await waitFor(() => a.stats.probes + a.stats.skipped + b.stats.probes + b.stats.skipped >= 40, '40 probe slots', 10_000, 10)
    const slots = a.stats.probes + a.stats.skipped + b.stats.probes + b.stats.skipped
    const probes = a.stats.probes + b.stats.probes
    assert.ok(probes <= slots * 0.7, `${probes} probes sent in ${slots} slots: most slots of one side are skipped`)
    assert.deepEqual([...nodes.values()].flatMap(n => n.suspected), [], 'nobody suspected')
    assert.equal(a.health + b.health, 0, 'both healthy')
  })

  it('still suspects a neighbour that stopped answering, and counts the failed probe against its own health', async () => {
    const nodes = pair(['a', 'b'], new Set(['b']))
    const a = nodes.get('a')?.prober as Prober
    running = [a]
    a.start()
    await waitFor(() => (nodes.get('a')?.suspected.length ?? 0) > 0, 'a to suspect the silent b', 10_000, 10)
    assert.ok(a.health >= 1, `health score ${a.health} after a failed probe`)
  })

  it('with a raised score, probes its neighbours itself and recovers on their acks in time', async () => {
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
