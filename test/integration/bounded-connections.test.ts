import assert from 'node:assert/strict'
import { api, getJson } from '../helpers/http.js'
import { killAll, killNode, removeDir, startNode, type StartedNode } from '../../scripts/lib/node-process.js'
import { liveMemberIds } from '../../scripts/lib/metrics.js'
import { waitFor } from '../../scripts/lib/wait.js'
import { inboundSlackFor } from '../../bootstrap/dialer.js'

const NODES = 7
const MAX_PEERS = 2
/** What the bootstrap node keeps at most once it has trimmed: --max-peers plus the inbound slack. */
const CAP = MAX_PEERS + inboundSlackFor(MAX_PEERS)

async function peersOf (n: StartedNode): Promise<number> {
  return (await getJson<{ peers: number }>(n.url, '/health')).peers
}

async function neighbourIds (n: StartedNode): Promise<string[]> {
  return (await getJson<{ peers: Array<{ peerId: string }> }>(n.url, '/api/peers')).peers.map(p => p.peerId)
}

/** Every node in `nodes` holds every other one live, and none of `dead`. */
async function membersAgree (nodes: StartedNode[], dead: StartedNode[] = []): Promise<boolean> {
  const views = await Promise.all(nodes.map(async n => new Set(await liveMemberIds(n.url))))
  return views.every((v, i) => nodes.every((m, j) => i === j || v.has(m.peerId)) && dead.every(d => !v.has(d.peerId)))
}

/**
 * Every node joins through node 1 (a star at first: node 1 holds a connection to each). With
 * --max-peers 2 the joiners find other neighbours and node 1 trims its inbound connections down
 * to the cap, while the overlay stays connected: every node keeps seeing every other as a live
 * member, and a write made anywhere reaches all.
 */
describe('bounded connections: the bootstrap node trims the joiners\' inbound connections', function () {
  this.timeout(300_000)
  let nodes: StartedNode[] = []
  afterEach(async () => {
    await killAll()
    for (const n of nodes) removeDir(n.dataDir)
    nodes = []
  })

  it(`${NODES} nodes with --max-peers ${MAX_PEERS} bootstrapped from node 1: node 1 ends with at most ${CAP} peers, all members live everywhere, a write reaches all, and a joiner whose neighbours die rejoins`, async () => {
    const extraArgs = ['--max-peers', String(MAX_PEERS)]
    const first = await startNode({ extraArgs, startTimeoutMs: 90_000 })
    nodes.push(first)
    const rest = await Promise.all(Array.from({ length: NODES - 1 }, async () => await startNode({ bootstrap: [first.addr], extraArgs, startTimeoutMs: 90_000 })))
    nodes.push(...rest)

    let mostSeen = 0
    await waitFor(async () => {
      const p = await peersOf(first)
      mostSeen = Math.max(mostSeen, p)
      return p > CAP
    }, `node 1 to hold more than ${CAP} peers while the joiners arrive (the star the test starts from)`, 120_000, 100)

    const final = await waitFor(async () => {
      const p = await peersOf(first)
      mostSeen = Math.max(mostSeen, p)
      if (p <= CAP && await membersAgree(nodes)) return p
      // Say what is missing if it never gets there: node 1's peers, and whom each node does not see live.
      const lacking = await Promise.all(nodes.map(async (n, i) => {
        const live = new Set(await liveMemberIds(n.url))
        const missing = nodes.flatMap((m, j) => i === j || live.has(m.peerId) ? [] : [j + 1])
        return missing.length === 0 ? [] : [`node ${i + 1} lacks ${missing.join(',')}`]
      }))
      throw new Error(`node 1 holds ${p} peers; ${lacking.flat().join('; ') || 'every node sees every other live'}`)
    }, `node 1 to trim down to ${CAP} peers with every node seeing all ${NODES - 1} others live`, 120_000, 200)

    const perNode = await Promise.all(nodes.map(peersOf))
    assert.ok(perNode.every(p => p >= 1), `every node keeps a neighbour: ${perNode.join(' ')}`)

    const last = nodes[NODES - 1] as StartedNode
    const created = await api(last.url, 'POST', '/api/tasks', { id: 'T-BOUNDED', title: 'made on the last node', role: 'dev' })
    assert.equal(created.status, 201, JSON.stringify(created.body))
    await waitFor(async () => {
      const seen = await Promise.all(nodes.map(async n => (await api(n.url, 'GET', '/api/tasks/T-BOUNDED')).status === 200))
      return seen.every(Boolean)
    }, `the task written on node ${NODES} to reach all ${NODES} nodes`, 60_000, 100)
    assert.ok(await membersAgree(nodes), 'every node still sees every other live after the write')
    const after = await peersOf(first)
    assert.ok(after <= CAP, `node 1 holds ${after} peers after the write (cap ${CAP})`)
    if (process.env.FLEET_TEST_VERBOSE !== undefined) {
      process.stdout.write(`      node 1 peers: at most ${mostSeen} while joining, ${final} once trimmed, ${after} after the write; per node ${(await Promise.all(nodes.map(peersOf))).join(' ')}\n`)
    }

    // A joiner node 1 no longer holds loses every neighbour (killed): it finds the overlay again
    // through its bootstrap peer, and the survivors stay one cluster.
    const byId = new Map(nodes.map(n => [n.peerId, n]))
    let orphan: StartedNode | undefined
    let victims: StartedNode[] = []
    for (const n of rest) {
      const nbrs = await neighbourIds(n)
      if (nbrs.includes(first.peerId) || nbrs.length > 3) continue
      orphan = n
      victims = nbrs.map(id => byId.get(id) as StartedNode)
      break
    }
    assert.ok(orphan !== undefined, 'a joiner that is not node 1\'s neighbour (node 1 trimmed all but a few)')
    await Promise.all(victims.map(async v => { await killNode(v) }))
    const survivors = nodes.filter(n => !victims.includes(n))
    await waitFor(async () => (await neighbourIds(orphan)).length > 0 && await membersAgree(survivors, victims),
      `the joiner whose ${victims.length} neighbours were killed to rejoin, and all ${survivors.length} survivors to see each other live and the killed ones dead`, 120_000, 200)
    const again = await api(orphan.url, 'POST', '/api/tasks', { id: 'T-ORPHAN', title: 'made on the rejoined node', role: 'dev' })
    assert.equal(again.status, 201, JSON.stringify(again.body))
    await waitFor(async () => (await Promise.all(survivors.map(async n => (await api(n.url, 'GET', '/api/tasks/T-ORPHAN')).status === 200))).every(Boolean),
      'the task written on the rejoined node to reach every survivor', 60_000, 100)
  })
})
