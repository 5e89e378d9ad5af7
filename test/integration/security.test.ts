import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { createFleetLibp2p } from '../../node/net/libp2p.js'
import { topicsFor } from '../../node/net/replicator.js'
import { parseSwarmKey } from '../../bootstrap/swarm-key.js'
import { api, getJson } from '../helpers/http.js'
import { killAll, removeDir, runCli, startNode, tempDir, type StartedNode } from '../../scripts/lib/node-process.js'
import { waitFor } from '../../scripts/lib/wait.js'

interface Health { peers: number, heads: string[] }

async function taskIds (n: StartedNode): Promise<string[]> {
  return (await getJson<Array<{ id: string }>>(n.url, '/api/tasks')).map(t => t.id).sort()
}

async function peerIds (n: StartedNode): Promise<string[]> {
  return (await getJson<{ peers: Array<{ peerId: string }> }>(n.url, '/api/peers')).peers.map(p => p.peerId)
}

describe('a closed cluster (node processes)', function () {
  this.timeout(90_000)
  const dirs: string[] = []
  let keyFile: string
  let otherKeyFile: string

  before(async () => {
    const dir = tempDir('fleet-keys-')
    dirs.push(dir)
    keyFile = join(dir, 'swarm.key')
    otherKeyFile = join(dir, 'other.key')
    for (const f of [keyFile, otherKeyFile]) {
      const r = await runCli(['key', 'swarm'])
      assert.equal(r.code, 0, r.stderr)
      writeFileSync(f, r.stdout)
    }
  })
  afterEach(async () => { await killAll() })
  after(() => { for (const d of dirs.splice(0)) removeDir(d) })

  async function node (opts: { key?: string, bootstrap?: StartedNode[], extra?: string[], dataDir?: string } = {}): Promise<StartedNode> {
    const n = await startNode({
      bootstrap: (opts.bootstrap ?? []).map(b => b.addr),
      extraArgs: [...(opts.key === undefined ? [] : ['--swarm-key', opts.key]), ...(opts.extra ?? [])],
      ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir })
    })
    dirs.push(n.dataDir)
    return n
  }

  it('fleet key swarm prints a pnet key; a bad key file stops the node with one line and exit 2', async () => {
    const r = await runCli(['key', 'swarm'])
    assert.match(r.stdout, /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n$/)
    const bad = join(dirs[0] ?? tempDir(), 'bad.key')
    writeFileSync(bad, r.stdout.replace(/[0-9a-f]{64}/, 'abc'))
    const start = await runCli(['start', '--data', tempDir(), '--http', '127.0.0.1:0', '--listen', '/ip4/127.0.0.1/tcp/0', '--swarm-key', bad])
    assert.equal(start.code, 2)
    const lines = start.stderr.trim().split('\n')
    assert.equal(lines.length, 1, start.stderr)
    assert.match(lines[0] ?? '', /--swarm-key: .*bad\.key: line 3 must be 64 hex characters/)
  })

  it('strangers without the key or with another one are refused and learn nothing', async () => {
    const n1 = await node({ key: keyFile })
    const n2 = await node({ key: keyFile, bootstrap: [n1] })
    for (let i = 0; i < 5; i++) assert.equal((await api(n1.url, 'POST', '/api/tasks', { id: `secret-${i}`, title: `secret ${i}` })).status, 201)

    // Direct dials from libp2p peers without the right key fail at the handshake.
    const topics = topicsFor('default')
    for (const swarmKey of [undefined, parseSwarmKey(readFileSync(otherKeyFile, 'utf8')).bytes]) {
      const p = await createFleetLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], topics: [topics.changes], ...(swarmKey === undefined ? {} : { swarmKey }) })
      try {
        await assert.rejects(p.dial(multiaddr(n1.addr)), `a dial ${swarmKey === undefined ? 'without a key' : 'with another key'} succeeded`)
      } finally {
        await p.stop()
      }
    }

    // Stranger nodes, started alongside a member that has the key (the control): by the time the
    // member has caught up, the strangers had every chance to connect.
    const [member, noKey, wrongKey] = await Promise.all([
      node({ key: keyFile, bootstrap: [n1] }),
      node({ bootstrap: [n1] }),
      node({ key: otherKeyFile, bootstrap: [n1] })
    ])
    assert.equal((await api(noKey.url, 'POST', '/api/tasks', { id: 'stranger-task', title: 'from outside' })).status, 201)
    await waitFor(async () => (await taskIds(member)).length === 5, 'the member started with the strangers to receive the 5 tasks')
    await waitFor(async () => (await getJson<Health>(member.url, '/health')).peers === 2, 'the member to see both cluster nodes')
    // ...and a write made after the strangers joined still reaches every member.
    assert.equal((await api(n2.url, 'POST', '/api/tasks', { id: 'secret-late', title: 'late' })).status, 201)
    await waitFor(async () => (await taskIds(member)).includes('secret-late'), 'the late write to reach the member')

    const strangers = [noKey.peerId, wrongKey.peerId]
    for (const s of [noKey, wrongKey]) {
      assert.equal((await getJson<Health>(s.url, '/health')).peers, 0, 'a stranger has a peer')
      assert.deepEqual(await peerIds(s), [])
      assert.ok(!(await taskIds(s)).some(id => id.startsWith('secret')), 'a stranger read a task')
    }
    assert.deepEqual(await taskIds(wrongKey), [])
    for (const m of [n1, n2, member]) {
      const seen = await peerIds(m)
      assert.ok(!seen.some(p => strangers.includes(p)), `a member lists a stranger among its peers: ${seen.join(', ')}`)
      assert.ok(!(await taskIds(m)).includes('stranger-task'), 'a stranger\'s task reached the cluster')
    }
  })

  it('with an allow-list, a node holding the key but not on the list is refused', async () => {
    const d1 = tempDir()
    const d2 = tempDir()
    dirs.push(d1, d2)
    // Peer ids are known before the nodes first start, so they can go into each other's lists.
    const [id1, id2] = await Promise.all([d1, d2].map(async (d) => (await runCli(['key', 'peer-id', '--data', d])).stdout.trim()))
    assert.match(id1 ?? '', /^12D3KooW/)
    const allow = ['--allow-peer', id1 ?? '', '--allow-peer', id2 ?? '']
    const n1 = await node({ key: keyFile, dataDir: d1, extra: allow })
    assert.equal(n1.peerId, id1, 'fleet key peer-id printed another id than the node uses')
    assert.equal((await api(n1.url, 'POST', '/api/tasks', { id: 'listed-only', title: 'for listed peers' })).status, 201)
    const [n2, unlisted] = await Promise.all([
      node({ key: keyFile, dataDir: d2, extra: allow, bootstrap: [n1] }),
      node({ key: keyFile, bootstrap: [n1] })
    ])
    await waitFor(async () => (await taskIds(n2)).includes('listed-only'), 'the listed node to receive the task')
    await waitFor(async () => (await peerIds(n1)).includes(n2.peerId), 'node 1 to list node 2 as a peer')
    assert.deepEqual(await taskIds(unlisted), [], 'the unlisted node received a task')
    assert.deepEqual(await peerIds(unlisted), [])
    assert.ok(!(await peerIds(n1)).includes(unlisted.peerId))
  })

  it('on a non-loopback address, writes need the API token; reads too with --auth-reads', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const tokenFile = join(dir, 'api.token')
    const t = await runCli(['key', 'token'])
    writeFileSync(tokenFile, t.stdout)
    const token = t.stdout.trim()

    const refused = await runCli(['start', '--data', join(dir, 'x'), '--http', '0.0.0.0:0', '--listen', '/ip4/127.0.0.1/tcp/0'])
    assert.equal(refused.code, 2)
    assert.match(refused.stderr.trim(), /^fleet: invalid --http: 0\.0\.0\.0:0 is not a loopback address.*--api-token-file/)

    const n = await node({ extra: ['--http', '0.0.0.0:0', '--api-token-file', tokenFile] })
    const none = await api(n.url, 'POST', '/api/tasks', { id: 'T1', title: 'no token' })
    assert.equal(none.status, 401)
    assert.equal(typeof none.body.error, 'string')
    const withToken = await fetch(`${n.url}/api/tasks`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ id: 'T1', title: 'with token' }) })
    assert.equal(withToken.status, 201)
    assert.deepEqual(await taskIds(n), ['T1'], 'reads stay open without --auth-reads')

    const r = await node({ extra: ['--http', '0.0.0.0:0', '--api-token-file', tokenFile, '--auth-reads'] })
    assert.equal((await api(r.url, 'GET', '/api/tasks')).status, 401)
    assert.equal((await api(r.url, 'GET', '/health')).status, 200, '/health must stay open for probes')
    const read = await fetch(`${r.url}/api/tasks`, { headers: { authorization: `Bearer ${token}` } })
    assert.equal(read.status, 200)
  })
})
