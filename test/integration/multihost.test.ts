import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { join } from 'node:path'
import { api, getJson } from '../helpers/http.js'
import { createClusterSecrets, killAll, killNode, removeDir, startNode, type StartedNode } from '../../scripts/lib/node-process.js'
import { NetnsLab, netnsUnavailable } from '../../scripts/lib/netns.js'
import { skipUnlessRequired } from '../helpers/environment.js'
import { waitFor } from '../../scripts/lib/wait.js'

interface Health { peers: number, heads: string[] }

const P2P_PORT = 4001
const HTTP_PORT = 3000

async function health (n: StartedNode): Promise<Health> {
  return await getJson<Health>(n.url, '/health')
}

async function hasTask (n: StartedNode, id: string): Promise<boolean> {
  return (await api(n.url, 'GET', `/api/tasks/${id}`)).status === 200
}

/** Waits until every node has `id` and all report the same heads. */
async function converged (nodes: StartedNode[], id: string, what: string): Promise<void> {
  await waitFor(async () => {
    const hs = await Promise.all(nodes.map(async n => (await hasTask(n, id)) ? (await health(n)).heads.join() : null))
    return hs.every(h => h !== null && h === hs[0])
  }, what, 30_000)
}

/** Script run inside a namespace: which targets answer at the TCP level (a refusal counts as reachable). */
const PROBE = `
const net = require('node:net')
const targets = JSON.parse(process.argv[1])
Promise.all(targets.map(t => new Promise(resolve => {
  const s = net.connect({ host: t, port: ${P2P_PORT + 999}, timeout: 1500 })
  const done = (ok) => { s.destroy(); resolve(ok) }
  s.on('connect', () => done(true))
  s.on('timeout', () => done(false))
  s.on('error', (e) => done(e.code === 'ECONNREFUSED'))
}))).then(r => process.stdout.write(JSON.stringify(r)))
`

describe('multi-host cluster in network namespaces (one IP per node, as on VMs)', function () {
  this.timeout(180_000)
  let lab: NetnsLab | null = null
  const nodes: StartedNode[] = []
  let secrets = ''
  let token = ''

  /** A write with the cluster's API token (HTTP is bound to a non-loopback address). */
  async function write (n: StartedNode, id: string, title: string): Promise<number> {
    const res = await fetch(`${n.url}/api/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ id, title })
    })
    return res.status
  }

  before(async function () {
    const reason = await netnsUnavailable()
    if (reason !== null) skipUnlessRequired(this, 'the multi-host tests', reason)
    lab = await NetnsLab.create({ size: 5 })
    // A closed cluster, as deployed: one swarm key and one API token shared by every node.
    const made = await createClusterSecrets('fleet-secrets-')
    secrets = made.dir
    token = made.token
  })

  after(async () => {
    await killAll()
    await lab?.teardown()
    for (const n of nodes) removeDir(n.dataDir)
    if (secrets !== '') removeDir(secrets)
  })

  async function startOn (i: number, bootstrap: string[], dataDir?: string): Promise<StartedNode> {
    if (lab === null) throw new Error('no lab')
    const h = lab.host(i)
    const n = await startNode({
      wrapper: lab.wrapper(i),
      host: h.ip,
      port: P2P_PORT,
      httpPort: HTTP_PORT,
      bootstrap,
      extraArgs: ['--swarm-key', join(secrets, 'swarm.key'), '--api-token-file', join(secrets, 'api.token')],
      ...(dataDir === undefined ? {} : { dataDir })
    })
    assert.equal(n.url, `http://${h.ip}:${HTTP_PORT}`)
    return n
  }

  it('joins a chain of 5 into one cluster, survives the first node dying, and takes it back', async () => {
    if (lab === null) throw new Error('no lab')
    const t0 = Date.now()
    // Node k knows only node k-1; nodes 3 and 5 name it by DNS (the namespaces' hosts files).
    for (let i = 0; i < 5; i++) {
      const prev = nodes[i - 1]
      const boot = prev === undefined
        ? []
        : [i % 2 === 0 ? `/dns4/${lab.host(i - 1).hostname}/tcp/${P2P_PORT}/p2p/${prev.peerId}` : prev.addr]
      nodes.push(await startOn(i, boot))
    }
    const allStarted = Date.now()
    for (const n of nodes) {
      await waitFor(async () => (await health(n)).peers === 4, `${n.url} to see the 4 other nodes (peer exchange along the chain)`, 60_000)
    }
    const joined = Date.now()
    for (const n of nodes) {
      const { peers } = await getJson<{ peers: Array<{ peerId: string }> }>(n.url, '/api/peers')
      assert.deepEqual(peers.map(p => p.peerId).sort(), nodes.filter(m => m !== n).map(m => m.peerId).sort())
    }

    assert.equal((await api(nodes[0]?.url ?? '', 'POST', '/api/tasks', { id: 'NO-TOKEN', title: 'x' })).status, 401, 'writes need the token')
    assert.equal(await write(nodes[0] as StartedNode, 'BEFORE-KILL', 'written on node 1'), 201)
    await converged(nodes, 'BEFORE-KILL', 'the write on node 1 to reach all 5 nodes')

    const [first, ...rest] = nodes
    if (first === undefined) throw new Error('no node 1')
    const killedAt = Date.now()
    await killNode(first)
    for (const n of rest) {
      await waitFor(async () => (await health(n)).peers === 3, `${n.url} to stay connected to the 3 other survivors`, 30_000)
    }
    const detected = Date.now()
    const last = rest[rest.length - 1]
    if (last === undefined) throw new Error('no node 5')
    const writtenAt = Date.now()
    assert.equal(await write(last, 'AFTER-KILL', 'written on node 5 after node 1 died'), 201)
    await converged(rest, 'AFTER-KILL', 'nodes 2-5 to converge on the write made on node 5 after node 1 died')
    const convergedAt = Date.now()

    // Node 1 comes back (same identity and address, no bootstrap list): the others redial it.
    const back = await startOn(0, [], first.dataDir)
    const restartedAt = Date.now()
    const all = [back, ...rest]
    for (const n of all) {
      await waitFor(async () => (await health(n)).peers === 4, `${n.url} to see 4 peers after node 1 restarted`, 30_000)
    }
    await converged(all, 'AFTER-KILL', 'restarted node 1 to catch up on the write it missed')
    const rejoined = Date.now()

    process.stderr.write([
      `      join: all 5 connected ${joined - allStarted} ms after the last node started (${joined - t0} ms after the first)`,
      `      node 1 killed: survivors settled at 3 peers in ${detected - killedAt} ms; a write on node 5 converged on nodes 2-5 in ${convergedAt - writtenAt} ms`,
      `      node 1 restarted: back at 4 peers everywhere and caught up in ${rejoined - restartedAt} ms`
    ].join('\n') + '\n')
  })

  it('cuts a link and partitions hosts into groups, and heals them', async () => {
    if (lab === null) throw new Error('no lab')
    const l = lab
    const ips = l.hosts.map(h => h.ip)
    const probe = async (from: number): Promise<boolean[]> => {
      const r = await l.exec(from, [process.execPath, '-e', PROBE, JSON.stringify(ips)])
      assert.equal(r.code, 0, r.stderr)
      return JSON.parse(r.stdout) as boolean[]
    }
    const fromRoot = async (i: number): Promise<boolean> => await new Promise((resolve) => {
      const s = connect({ host: ips[i] ?? '', port: P2P_PORT + 999, timeout: 1500 })
      const done = (ok: boolean): void => { s.destroy(); resolve(ok) }
      s.on('connect', () => done(true))
      s.on('timeout', () => done(false))
      s.on('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED'))
    })

    assert.deepEqual(await probe(0), [true, true, true, true, true], 'everyone reaches everyone at first')
    await l.partition([[0, 1], [2, 3, 4]])
    assert.deepEqual(await probe(0), [true, true, false, false, false])
    assert.deepEqual(await probe(3), [false, false, true, true, true])
    assert.equal(await fromRoot(3), true, 'the test process still reaches a partitioned host')
    await l.partition([[0], [1, 2, 3, 4]])
    assert.deepEqual(await probe(1), [false, true, true, true, true], 'a new partition replaces the old one')
    await l.heal()
    assert.deepEqual(await probe(0), [true, true, true, true, true], 'healed')
    await assert.rejects(l.partition([[0, 1], [1, 2, 3, 4]]), /more than one group/)
    await assert.rejects(l.partition([[0, 1], [2, 3]]), /in no group/)

    await l.cut(2)
    assert.equal(await fromRoot(2), false, 'a cut host is unreachable, even from the test process')
    assert.deepEqual(await probe(1), [true, true, false, true, true])
    await l.restore(2)
    await waitFor(async () => await fromRoot(2), 'host 3 to be reachable again after restore')
  })
})
