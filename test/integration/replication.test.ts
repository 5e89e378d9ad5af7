import assert from 'node:assert/strict'
import { api, getJson } from '../helpers/http.js'
import { killAll, killNode, removeDir, runCli, startNode, stopNode, tempDir, type StartedNode } from '../../scripts/lib/node-process.js'
import { waitFor } from '../../scripts/lib/wait.js'

interface Health { status: string, peerId: string, multiaddrs: string[], peers: number, heads: string[] }

async function health (n: StartedNode): Promise<Health> {
  return await getJson<Health>(n.url, '/health')
}

async function taskIds (n: StartedNode): Promise<Set<string>> {
  const tasks = await getJson<Array<{ id: string }>>(n.url, '/api/tasks')
  return new Set(tasks.map(t => t.id))
}

/** Waits until every node reports the same heads, and returns them. */
async function converged (nodes: StartedNode[], what = 'all nodes to report identical heads', timeoutMs = 20_000): Promise<string[]> {
  return await waitFor(async () => {
    const hs = await Promise.all(nodes.map(async n => (await health(n)).heads.join()))
    return hs.every(h => h === hs[0]) ? hs[0]?.split(',') : false
  }, what, timeoutMs)
}

async function writeTasks (n: StartedNode, prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const r = await api(n.url, 'POST', '/api/tasks', { id: `${prefix}-${i}`, title: `task ${prefix} ${i}` })
    assert.equal(r.status, 201, `write ${prefix}-${i} was not acknowledged: ${JSON.stringify(r.body)}`)
  }
}

describe('replication between node processes', function () {
  this.timeout(120_000)
  const dirs: string[] = []
  afterEach(async () => {
    await killAll()
    for (const d of dirs.splice(0)) removeDir(d)
  })

  async function node (bootstrap: StartedNode[] = [], dataDir?: string): Promise<StartedNode> {
    const n = await startNode({ bootstrap: bootstrap.map(b => b.addr), ...(dataDir === undefined ? {} : { dataDir }) })
    if (dataDir === undefined) dirs.push(n.dataDir)
    return n
  }

  it('spreads a task written on node 3 to nodes 1 and 2, and each sees 2 peers', async () => {
    const n1 = await node()
    const [n2, n3] = await Promise.all([node([n1]), node([n1])])
    const r = await api(n3.url, 'POST', '/api/tasks', { id: 'T-1', title: 'written on node 3' })
    assert.equal(r.status, 201)
    for (const n of [n1, n2]) {
      await waitFor(async () => (await taskIds(n)).has('T-1'), `task T-1 on node ${n.url}`)
    }
    const t = await getJson<{ id: string, title: string }>(n1.url, '/api/tasks/T-1')
    assert.equal(t.title, 'written on node 3')
    for (const n of [n1, n2, n3]) {
      await waitFor(async () => (await health(n)).peers === 2, `/health on ${n.url} to report peers=2 (nodes 2 and 3 find each other through node 1)`)
    }
    const h = await health(n1)
    assert.equal(h.status, 'healthy')
    assert.equal(h.peerId, n1.peerId)
    assert.ok(h.multiaddrs.some(a => a.endsWith(`/p2p/${n1.peerId}`) || a.includes('/tcp/')), 'health lists multiaddrs')
    const { peers } = await getJson<{ peers: Array<{ peerId: string, heads: string[] }> }>(n1.url, '/api/peers')
    assert.deepEqual(new Set(peers.map(p => p.peerId)), new Set([n2.peerId, n3.peerId]))
  })

  it('brings a late joiner to identical heads after 500 writes, with no further write', async () => {
    const n1 = await node()
    const n2 = await node([n1])
    await writeTasks(n1, 'early', 500)
    await converged([n1, n2])
    const n4 = await node([n1])
    const heads = await converged([n1, n2, n4], 'the late joiner to reach the heads of nodes 1 and 2')
    assert.equal((await taskIds(n4)).size, 500)
    assert.deepEqual((await health(n1)).heads, heads, 'no write happened while the joiner caught up')
  })

  it('keeps every acknowledged write across kill -9 and restart, with the same peer id', async () => {
    const n1 = await node()
    const dataDir = tempDir()
    dirs.push(dataDir)
    const n2 = await node([n1], dataDir)
    await writeTasks(n2, 'durable', 200)
    await killNode(n2)
    const again = await node([n1], dataDir)
    assert.equal(again.peerId, n2.peerId, 'identity survives restart')
    const ids = await taskIds(again)
    for (let i = 0; i < 200; i++) assert.ok(ids.has(`durable-${i}`), `acknowledged write durable-${i} lost`)
    await converged([n1, again], 'the restarted node to reconverge with node 1')
    assert.equal((await taskIds(n1)).size, 200)
  })

  it('converges after a node is stopped, others write, and it comes back', async () => {
    const n1 = await node()
    const dir2 = tempDir()
    dirs.push(dir2)
    const [n2, n3] = await Promise.all([node([n1], dir2), node([n1])])
    await writeTasks(n1, 'before', 5)
    await converged([n1, n2, n3])
    assert.equal(await stopNode(n2), 0, 'graceful stop exits 0')
    await writeTasks(n1, 'side1', 10)
    await writeTasks(n3, 'side3', 10)
    const back = await node([n1], dir2)
    await converged([n1, back, n3], 'all three nodes to converge after node 2 returns')
    const ids = await taskIds(back)
    assert.equal(ids.size, 25)
    assert.ok(ids.has('side1-9') && ids.has('side3-9'))
  })
})

describe('fleet start options', function () {
  this.timeout(30_000)
  it('exits 2 with a one-line error naming a bad --http', async () => {
    const r = await runCli(['start', '--http', 'nonsense', '--data', tempDir()])
    assert.equal(r.code, 2)
    const lines = r.stderr.trim().split('\n')
    assert.equal(lines.length, 1, `one line expected, got: ${r.stderr}`)
    assert.match(lines[0] ?? '', /--http/)
    assert.match(lines[0] ?? '', /nonsense/)
  })

  it('exits 2 naming an unknown option and a bad environment variable', async () => {
    const a = await runCli(['start', '--frobnicate'])
    assert.equal(a.code, 2)
    assert.match(a.stderr, /--frobnicate/)
    const b = await runCli(['start', '--data', tempDir()], { FLEET_LISTEN: 'not-a-multiaddr' })
    assert.equal(b.code, 2)
    assert.match(b.stderr, /FLEET_LISTEN/)
  })
})
