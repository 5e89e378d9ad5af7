import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { loadOrCreateIdentity } from '../../bootstrap/identity.js'
import { api, getJson } from '../helpers/http.js'
import { killAll, killNode, removeDir, startNode, tempDir, type NodeOptions, type StartedNode } from '../../scripts/lib/node-process.js'
import { waitFor } from '../../scripts/lib/wait.js'

interface Health { peers: number, heads: string[] }

async function health (n: StartedNode): Promise<Health> {
  return await getJson<Health>(n.url, '/health')
}

async function peerIds (n: StartedNode): Promise<string[]> {
  return (await getJson<{ peers: Array<{ peerId: string }> }>(n.url, '/api/peers')).peers.map(p => p.peerId).sort()
}

async function hasTask (n: StartedNode, id: string): Promise<boolean> {
  return (await api(n.url, 'GET', `/api/tasks/${id}`)).status === 200
}

async function freePort (): Promise<number> {
  const srv = createServer()
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const addr = srv.address()
  await new Promise<void>((resolve) => srv.close(() => resolve()))
  if (addr === null || typeof addr === 'string') throw new Error('no port')
  return addr.port
}

describe('bootstrap and discovery between node processes', function () {
  this.timeout(120_000)
  const dirs: string[] = []
  afterEach(async () => {
    await killAll()
    for (const d of dirs.splice(0)) removeDir(d)
  })

  async function node (opts: NodeOptions = {}): Promise<StartedNode> {
    const n = await startNode(opts)
    if (opts.dataDir === undefined) dirs.push(n.dataDir)
    return n
  }

  it('starts before its bootstrap peer (named by DNS) and joins when the peer appears', async () => {
    // The bootstrap peer's identity exists before the peer runs, as on a VM being reinstalled.
    const dirA = tempDir()
    dirs.push(dirA)
    const idA = peerIdFromPrivateKey(await loadOrCreateIdentity(dirA)).toString()
    const port = await freePort()
    const b = await node({ bootstrap: [`/dns4/localhost/tcp/${port}/p2p/${idA}`], env: { FLEET_LOG_LEVEL: 'info' } })
    await waitFor(() => b.stderr.some(l => l.includes('bootstrap peer not reachable yet')), 'node B to report that its bootstrap peer is not there yet')
    assert.equal((await health(b)).peers, 0)

    const a = await node({ dataDir: dirA, port })
    assert.equal(a.peerId, idA)
    const appeared = Date.now()
    await waitFor(async () => (await health(b)).peers === 1 && (await health(a)).peers === 1, 'A and B to connect after A appeared', 30_000)
    const joinMs = Date.now() - appeared
    const w = await api(a.url, 'POST', '/api/tasks', { id: 'LATE-1', title: 'written on the late bootstrap node' })
    assert.equal(w.status, 201)
    await waitFor(async () => await hasTask(b, 'LATE-1'), 'the task written on A to reach B')
    process.stderr.write(`      (B joined ${joinMs} ms after its bootstrap peer started)\n`)
  })

  it('reconnects to a bootstrap peer that restarts, which catches up on what it missed', async () => {
    const port = await freePort()
    const a = await node({ port })
    const [b, c] = await Promise.all([node({ bootstrap: [a.addr] }), node({ bootstrap: [a.addr] })])
    for (const n of [a, b, c]) await waitFor(async () => (await health(n)).peers === 2, `${n.url} to see 2 peers`)

    await killNode(a)
    await waitFor(async () => (await health(b)).peers === 1, 'B to notice that A is gone')
    const w = await api(b.url, 'POST', '/api/tasks', { id: 'WHILE-DOWN', title: 'written while A was down' })
    assert.equal(w.status, 201)

    // A has no bootstrap list: B and C must find it again on their own.
    const a2 = await node({ dataDir: a.dataDir, port })
    const restarted = Date.now()
    await waitFor(async () => (await health(a2)).peers === 2, 'restarted A to be redialed by B and C', 30_000)
    const reconnectMs = Date.now() - restarted
    await waitFor(async () => await hasTask(a2, 'WHILE-DOWN'), 'A to catch up on the write it missed')
    assert.deepEqual(await peerIds(a2), [b.peerId, c.peerId].sort())
    process.stderr.write(`      (restarted bootstrap peer reconnected to both others in ${reconnectMs} ms)\n`)
  })

  it('connects to members it only heard of (peer exchange) and stays connected without the bootstrap node', async () => {
    const a = await node()
    const b = await node({ bootstrap: [a.addr] })
    const c = await node({ bootstrap: [b.addr] }) // C knows only B
    await waitFor(async () => (await peerIds(c)).join() === [a.peerId, b.peerId].sort().join(), 'C to connect to A, which it only heard of through B')
    await killNode(b)
    await waitFor(async () => (await health(a)).peers === 1 && (await health(c)).peers === 1, 'A and C to stay connected without B')
    const w = await api(c.url, 'POST', '/api/tasks', { id: 'AFTER-B', title: 'written after B died' })
    assert.equal(w.status, 201)
    await waitFor(async () => await hasTask(a, 'AFTER-B'), 'the write on C to reach A directly')
  })
})
