import * as A from '@automerge/automerge'
import { leaderFor } from '../../crdt/rules/leader.js'
import { MemoryHub } from '../../node/net/memory-network.js'
import { runClaimPhase, type ClaimPhaseReport } from './sim-claims.js'
import { overlayKnown, startSimNodes, stopSimNodes, type SimNode } from './sim-node.js'
import { waitFor } from './wait.js'
import { mulberry32 } from '../../plan/prng.js'

/**
 * The simulator: N nodes in one process, each with the real document store, the real
 * replication protocols (gossip, SWIM membership, sync sessions) and the real services and
 * coordination (claims, settler, leases), over the in-memory network with
 * latency and loss. It measures what one machine cannot host as processes: messages per node,
 * write spread, claim safety and cost (agents racing for tasks through the settle rule),
 * dead-node detection (and so leader replacement, a pure function of the live set), and
 * convergence after a partition heals. Real time, not virtual: the figures include
 * the protocols' own CPU cost on this machine.
 */

export const DEFAULT_SIM_DEGREE = 8
export const DEFAULT_SIM_LIVENESS_MS = 10_000
export const HEAL_TIMEOUT_MS = 60_000

export interface SimInit {
  nodes: number
  /** Links per node (a random graph, as a bounded mesh would be); default DEFAULT_SIM_DEGREE. */
  degree?: number
  latencyMs?: number
  loss?: number
  livenessMs?: number
  /** Idle window measured, ms. */
  idleMs?: number
  /** Deterministic topology and loss. */
  seed?: number
  /** Claim races run (a new task each, raced by `racers` agents on random nodes); default 10. */
  claimRounds?: number
  racers?: number
  /** Claim acks routed over the overlay (default); false: announcements, as before (a comparison). */
  routeAcks?: boolean
}

export interface SimReport {
  nodes: number
  /** Gossip and sync frames received per node per second, nothing happening. */
  idleMsgsPerNodePerS: number
  /** The same while one write per second per 10 nodes is made. */
  loadMsgsPerNodePerS: number
  writeSpreadMs: number
  deadDetectedMs: number
  leaderReplacedMs: number
  /** Claim safety and cost: races through the settle rule with acks over the overlay. */
  claims: ClaimPhaseReport
  /** Infinity when the survivors had not converged within HEAL_TIMEOUT_MS (reported, not thrown, so the other figures of a big run survive). */
  healConvergedMs: number
}

/** Each group gets a ring (connected) plus random chords up to about `degree` links per node (a bounded mesh). */
export function linkGroups (hub: MemoryHub, groups: string[][], degree: number, random: () => number): void {
  for (const g of groups) {
    for (let i = 0; i < g.length && g.length > 1; i++) hub.connect(g[i] as string, g[(i + 1) % g.length] as string)
    for (const id of g) {
      const ep = hub.endpoints.get(id)
      for (let tries = 0; ep !== undefined && ep.links.size < degree && tries < degree * 4; tries++) hub.connect(id, g[Math.floor(random() * g.length)] as string)
    }
  }
}

/** Gossip and channel frames the nodes received so far. */
export function receivedBy (hub: MemoryHub, nodes: SimNode[]): number {
  return nodes.reduce((sum, n) => {
    const s = hub.endpoints.get(n.id)?.stats
    return sum + (s === undefined ? 0 : s.gossipIn + s.framesIn)
  }, 0)
}

/** One scenario in phases (idle, load, crash, partition and heal) sharing the nodes and clocks: one function on purpose (about 90 lines), read top to bottom. */
export async function runSim (init: SimInit): Promise<SimReport> {
  const random = mulberry32(init.seed ?? 1)
  const livenessMs = init.livenessMs ?? DEFAULT_SIM_LIVENESS_MS
  const hub = new MemoryHub({ latencyMs: init.latencyMs ?? 2, loss: init.loss ?? 0, random })
  const nodes: SimNode[] = []
  const ids = Array.from({ length: init.nodes }, (_, i) => `n${String(i).padStart(4, '0')}`)
  try {
    nodes.push(...await startSimNodes(hub, ids, livenessMs, init.routeAcks ?? true))
    const links = (groups: string[][]): void => { linkGroups(hub, groups, Math.min(init.degree ?? DEFAULT_SIM_DEGREE, init.nodes - 1), random) }
    links([ids])
    const liveCount = (n: SimNode): number => n.replicator.peers.live().length
    await waitFor(() => nodes.every(n => liveCount(n) >= init.nodes - 1), `all ${init.nodes} simulated nodes to see each other`, 120_000, 100)
    // Formed includes the overlay announced (each node announces its settled neighbours once, see
    // presence-delta.ts), so the idle window is the steady state.
    await waitFor(() => overlayKnown(nodes.map(n => n.replicator)), 'every node to know every other\'s neighbours', 120_000, 250)

    const received = (): number => receivedBy(hub, nodes)
    const idleMs = init.idleMs ?? 10_000
    let r0 = received()
    let t0 = Date.now()
    await new Promise(resolve => setTimeout(resolve, idleMs))
    const idle = (received() - r0) / init.nodes / ((Date.now() - t0) / 1000)

    // Under load: writes spread over the nodes, one per second per 10 nodes.
    r0 = received()
    t0 = Date.now()
    let k = 0
    const writes = Math.max(1, Math.round(init.nodes / 10))
    while (Date.now() - t0 < idleMs) {
      for (let w = 0; w < writes; w++) {
        const n = nodes[Math.floor(random() * nodes.length)] as SimNode
        await n.store.change((d) => { d.plan.title = new A.ImmutableString(`write ${k++}`) }, 'sim write')
      }
      await new Promise(resolve => setTimeout(resolve, 1000))
    }
    const load = (received() - r0) / init.nodes / ((Date.now() - t0) / 1000)

    const claims = await runClaimPhase(nodes, init.claimRounds ?? 10, init.racers ?? 5, random, received)

    const same = (set: SimNode[]): boolean => set.every(n => n.store.heads().join() === set[0]?.store.heads().join())
    await waitFor(() => same(nodes), 'the load writes to converge', 60_000, 50)
    const ws = Date.now()
    await (nodes[0] as SimNode).store.change((d) => { d.plan.title = new A.ImmutableString('spread') }, 'spread')
    await waitFor(() => same(nodes), 'one write on every node', 60_000, 5)
    const writeSpreadMs = Date.now() - ws

    // Crash the current leader; measure until every survivor leaves it out of its live set.
    const leader = leaderFor(0, ids) as string
    const survivors = nodes.filter(n => n.id !== leader)
    const cs = Date.now()
    hub.crash(leader)
    await waitFor(() => survivors.every(n => !n.replicator.peers.live().some(p => p.nodeId === leader)), 'every survivor to see the crashed node dead', livenessMs * 3, 50)
    const deadDetectedMs = Date.now() - cs
    // The leader of term 0 over each survivor's live set: replaced once all name the same other node.
    const leaders = (): Set<string | null> => new Set(survivors.map(n => leaderFor(0, [n.id, ...n.replicator.peers.live().map(p => p.nodeId)])))
    await waitFor(() => { const l = leaders(); return l.size === 1 && !l.has(leader) }, 'the survivors to agree on a new leader', livenessMs * 3, 50)
    const leaderReplacedMs = Date.now() - cs

    // Partition in two halves, write on both sides, heal, reconnect the cut links.
    const half = Math.floor(survivors.length / 2)
    const left = survivors.slice(0, half)
    const right = survivors.slice(half)
    hub.partition([left.map(n => n.id), right.map(n => n.id)])
    links([left.map(n => n.id), right.map(n => n.id)])
    await (left[0] as SimNode).store.change((d) => { d.plan.title = new A.ImmutableString('left') }, 'left')
    await (right[0] as SimNode).store.change((d) => { d.plan.title = new A.ImmutableString('right') }, 'right')
    await waitFor(() => same(left) && same(right), 'each side to converge on its own', 60_000, 50)
    const hs = Date.now()
    hub.heal()
    links([survivors.map(n => n.id)])
    const healed = await waitFor(() => same(survivors), 'every survivor to converge after the heal', HEAL_TIMEOUT_MS, 20).then(() => true, () => false)
    const healConvergedMs = healed ? Date.now() - hs : Infinity
    return { nodes: init.nodes, idleMsgsPerNodePerS: idle, loadMsgsPerNodePerS: load, claims, writeSpreadMs, deadDetectedMs, leaderReplacedMs, healConvergedMs }
  } finally {
    await stopSimNodes(nodes)
  }
}
