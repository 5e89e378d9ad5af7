import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import * as lp from 'it-length-prefixed'
import { pipe } from 'it-pipe'
import { createFleetLibp2p, type FleetLibp2p } from '../../node/net/libp2p.js'
import { topicsFor } from '../../node/net/replicator.js'
import { encodeGossip } from '../../crdt/wire.js'
import { api, getJson } from '../helpers/http.js'
import { killAll, removeDir, startNode, type StartedNode } from '../../scripts/lib/node-process.js'
import { waitFor } from '../../scripts/lib/wait.js'

describe('malformed frames from a connected peer', function () {
  this.timeout(60_000)
  let intruder: FleetLibp2p | null = null
  const dirs: string[] = []
  after(async () => {
    await intruder?.stop()
    await killAll()
    for (const d of dirs) removeDir(d)
  })

  it('drops and logs random gossip and sync bytes; the document is unchanged and the node keeps working', async () => {
    const n1 = await startNode()
    const n2 = await startNode({ bootstrap: [n1.addr] })
    dirs.push(n1.dataDir, n2.dataDir)
    assert.equal((await api(n1.url, 'POST', '/api/tasks', { id: 'before', title: 'before the garbage' })).status, 201)
    await waitFor(async () => (await getJson<unknown[]>(n2.url, '/api/tasks')).length === 1, 'node 2 to have the first task')
    const headsBefore = (await getJson<{ heads: string[] }>(n1.url, '/health')).heads

    const topics = topicsFor('default')
    intruder = await createFleetLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], topics: [topics.changes, topics.presence] })
    const pubsub = intruder.services.pubsub
    pubsub.subscribe(topics.changes)
    await intruder.dial(multiaddr(n1.addr))
    await waitFor(() => pubsub.getSubscribers(topics.changes).some(p => p.toString() === n1.peerId), 'node 1 to be subscribed from the intruder\'s view')

    // Gossip: random bytes, and a well-formed frame whose change bytes are garbage.
    for (let i = 0; i < 20; i++) await pubsub.publish(topics.changes, randomBytes(1 + (i * 37) % 500))
    await pubsub.publish(topics.changes, encodeGossip({ v: 1, t: 'changes', node: intruder.peerId.toString(), heads: [], changes: [randomBytes(64)] }))

    // Sync protocol: valid length prefixes around random payloads, including a fake sync message.
    const stream = await intruder.dialProtocol(multiaddr(n1.addr), topics.sync)
    const frames = [randomBytes(10), Uint8Array.of(1, 0x42, 1, 2, 3), Uint8Array.of(9), randomBytes(2000)]
    await pipe(frames, (src) => lp.encode(src), stream.sink)

    const dropped = (kind: string): string[] => n1.stderr.filter(l => l.includes('dropped a malformed frame') && l.includes(`"kind":"${kind}"`))
    await waitFor(() => dropped('gossip').length > 0, 'node 1 to log dropped gossip frames')
    await waitFor(() => dropped('sync').length > 0, 'node 1 to log dropped sync frames')

    const h = await getJson<{ status: string, heads: string[] }>(n1.url, '/health')
    assert.equal(h.status, 'healthy')
    assert.deepEqual(h.heads, headsBefore, 'garbage changed the document')
    assert.equal((await api(n1.url, 'POST', '/api/tasks', { id: 'after', title: 'after the garbage' })).status, 201)
    await waitFor(async () => (await getJson<Array<{ id: string }>>(n2.url, '/api/tasks')).some(t => t.id === 'after'), 'a write after the garbage to still replicate')
  })
})
