import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { WebSocket } from 'ws'
import { api, getJson } from '../helpers/http.js'
import { killAll, removeDir, runCli, startNode, type StartedNode } from '../../scripts/lib/node-process.js'
import { readSse, type SseEvent } from '../../scripts/lib/sse.js'
import { waitFor } from '../../scripts/lib/wait.js'

const SAMPLE_PLAN = new URL('../../../plan/examples/remediation-plan.md', import.meta.url)

interface WsMsg { id: number, type: string, at?: number, data: { id?: string, op?: string, origin?: string, resumed?: boolean, lastEventId?: number } }

/** A port nothing listens on (just released by us). */
async function closedPort (): Promise<number> {
  const srv = createServer()
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const port = (srv.address() as AddressInfo).port
  await new Promise<void>((resolve) => srv.close(() => { resolve() }))
  return port
}

/** Prometheus text -> sample name with labels (as printed) -> value. */
function samples (text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const i = line.lastIndexOf(' ')
    out.set(line.slice(0, i), Number(line.slice(i + 1)))
  }
  return out
}

async function scrape (n: StartedNode): Promise<{ text: string, s: Map<string, number> }> {
  const res = await fetch(`${n.url}/metrics`)
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  const text = await res.text()
  return { text, s: samples(text) }
}

async function createTasks (n: StartedNode, prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const r = await api(n.url, 'POST', '/api/tasks', { id: `${prefix}-${i}`, title: `${prefix} ${i}` })
    assert.equal(r.status, 201, JSON.stringify(r.body))
  }
}

/** An SSE reader that keeps what it received, until stopped. */
function sse (n: StartedNode, lastEventId?: string): { events: SseEvent[], stop: () => void, done: Promise<void> } {
  const events: SseEvent[] = []
  const ac = new AbortController()
  const done = readSse(`${n.url}/api/events`, (e) => { events.push(e) }, { signal: ac.signal, ...(lastEventId === undefined ? {} : { lastEventId }) })
  done.catch(() => {})
  return { events, stop: () => { ac.abort() }, done }
}

/** A WebSocket client on /ws that keeps what it received. */
async function ws (n: StartedNode, lastEventId?: number): Promise<{ msgs: WsMsg[], close: () => void }> {
  const url = `${n.url.replace(/^http/, 'ws')}/ws${lastEventId === undefined ? '' : `?lastEventId=${lastEventId}`}`
  const sock = new WebSocket(url)
  const msgs: WsMsg[] = []
  sock.on('message', (m) => { msgs.push(JSON.parse(String(m)) as WsMsg) })
  await new Promise<void>((resolve, reject) => {
    sock.once('open', () => { resolve() })
    sock.once('error', reject)
  })
  return { msgs, close: () => { sock.close() } }
}

describe('observing the cluster: events, WebSocket, metrics, status commands', function () {
  this.timeout(120_000)
  let n1: StartedNode
  let n2: StartedNode

  before(async () => {
    n1 = await startNode()
    n2 = await startNode({ bootstrap: [n1.addr] })
    await waitFor(async () => (await getJson<{ peers: number }>(n2.url, '/health')).peers === 1 && (await getJson<{ peers: number }>(n1.url, '/health')).peers === 1, 'nodes 1 and 2 to connect', 30_000)
  })

  after(async () => {
    await killAll()
    for (const n of [n1, n2]) if (n !== undefined) removeDir(n.dataDir)
  })

  it('fleet status shows peers, leader, tasks, epic progress, agents and the queue, as a table and as JSON', async () => {
    const content = await readFile(SAMPLE_PLAN, 'utf8')
    const imp = await api(n1.url, 'POST', '/api/plan/import', { content, file: 'remediation-plan.md' })
    assert.equal(imp.status, 200, JSON.stringify(imp.body))
    assert.equal((await api(n1.url, 'POST', '/api/agents', { id: 'agent-a', name: 'Agent A', role: 'schemas' })).status, 201)
    await waitFor(async () => (await getJson<unknown[]>(n2.url, '/api/tasks')).length === 28 && (await getJson<unknown[]>(n2.url, '/api/agents')).length === 1, 'the plan and the agent to reach node 2')

    // fleet status starts in well under a second now (it no longer loads the node's modules), so
    // it can ask before node 2 has heard node 1's next presence announcement (its URL, when seen):
    // wait until the peer line is complete, as a user running it again would see.
    const peerLine = new RegExp(`^${n1.peerId} +(leader|peer) +(in sync|differ) +\\d+ s ago +http://127\\.0\\.0\\.1:\\d+$`, 'm')
    let last = ''
    const out = await waitFor(async () => {
      const table = await runCli(['status', '--node', n2.url])
      assert.equal(table.code, 0, table.stderr)
      last = table.stdout
      return peerLine.test(last) ? last : false
    }, 'fleet status on node 2 to list node 1 as a peer with its state, when it was seen and its URL', 20_000, 200).catch((err: Error) => { throw new Error(`${err.message}; last output:\n${last}`) })
    assert.match(out, new RegExp(`^node +${n2.peerId}$`, 'm'))
    assert.match(out, /^leader +(12D3\S+( \(this node\))?, term \d+|none)$/m, `a leader line: ${out}`)
    assert.match(out, /^TASKS {2}28 tasks, 552 h, 0% done/m)
    assert.match(out, /^ +28 +0 +0 +0 +0 +0 +0 +0$/m, '28 pending, nothing else')
    assert.match(out, /^E1 Data model and schema consolidation +░{20} +0% +0 h +76 h +4$/m)
    assert.equal(out.match(/^E\d .*░/gm)?.length, 5, 'one bar per epic')
    assert.match(out, /^agent-a +Agent A +schemas +(healthy|stale) +idle/m)
    assert.match(out, /^MERGE QUEUE {2}0 waiting, 0 merged, 0 ejected$/m)

    const json = await runCli(['status', '--node', n2.url, '--json'])
    assert.equal(json.code, 0, json.stderr)
    const r = JSON.parse(json.stdout) as { node: string, health: { peerId: string }, peers: Array<{ peerId: string }>, overview: { totalTasks: number, byEpic: unknown[] }, tasksByStatus: Record<string, number>, agents: Array<{ id: string }>, mergeQueue: unknown[] }
    assert.equal(r.node, n2.url)
    assert.equal(r.health.peerId, n2.peerId)
    assert.deepEqual(r.peers.map(p => p.peerId), [n1.peerId])
    assert.equal(r.overview.totalTasks, 28)
    assert.equal(r.overview.byEpic.length, 5)
    assert.equal(r.tasksByStatus.pending, 28)
    assert.deepEqual(r.agents.map(a => a.id), ['agent-a'])
    assert.deepEqual(r.mergeQueue, [])

    const tasks = await runCli(['tasks', '--node', n2.url, '--epic', 'E1'])
    assert.equal(tasks.code, 0, tasks.stderr)
    assert.match(tasks.stdout, /^T1\.1 +pending +E1 +12 h +Inventory and document the current database schema$/m)
    assert.match(tasks.stdout, /^4 tasks, 76 h$/m)
    const tasksJson = JSON.parse((await runCli(['tasks', '--node', n2.url, '--status', 'pending', '--json'])).stdout) as unknown[]
    assert.equal(tasksJson.length, 28)
    const agents = await runCli(['agents', '--node', n2.url, '--json'])
    assert.deepEqual((JSON.parse(agents.stdout) as Array<{ id: string }>).map(a => a.id), ['agent-a'])
  })

  it('commands exit 1 with one line when the node is unreachable, and 2 on bad options', async () => {
    const port = await closedPort()
    const down = await runCli(['status', '--node', `http://127.0.0.1:${port}`])
    assert.equal(down.code, 1)
    assert.equal(down.stdout, '')
    assert.equal(down.stderr, `fleet: cannot reach fleet node at http://127.0.0.1:${port} (connection refused)\n`)
    const agentsDown = await runCli(['agents', '--node', `127.0.0.1:${port}`])
    assert.equal(agentsDown.code, 1)
    for (const args of [['status', '--frobnicate'], ['tasks', '--status', 'finished', '--node', n1.url], ['status', '--node', 'ftp://x'], ['tasks', '--epic', 'has space', '--node', n1.url]]) {
      const r = await runCli(args)
      assert.equal(r.code, 2, `${args.join(' ')} -> ${r.code} ${r.stderr}`)
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`)
      assert.equal(r.stdout, '')
    }
  })

  it('SSE: a client resuming with Last-Event-ID gets exactly the events it missed', async () => {
    const witness = sse(n1) // stays connected throughout: the reference of what happened
    const first = sse(n1)
    await waitFor(() => first.events.some(e => e.event === 'snapshot') && witness.events.some(e => e.event === 'snapshot'), 'the snapshot event of a fresh connection')
    await createTasks(n1, 'sse-a', 3)
    await waitFor(() => first.events.filter(e => e.event === 'task').length >= 3, 'three task events on the first connection')
    first.stop()
    const lastSeen = first.events.at(-1)?.id
    assert.ok(lastSeen !== null && lastSeen !== undefined)

    await createTasks(n1, 'sse-b', 4) // while the client is away
    const resumed = sse(n1, lastSeen)
    await waitFor(() => resumed.events.some(e => e.event === 'task' && JSON.parse(e.data).id === 'sse-b-3'), 'the resumed stream to deliver the last missed task')
    resumed.stop()
    const upTo = Number(resumed.events.at(-1)?.id)
    await waitFor(() => witness.events.some(e => Number(e.id) >= upTo), 'the witness to have seen as far')
    witness.stop()
    const missed = witness.events.filter(e => Number(e.id) > Number(lastSeen) && Number(e.id) <= upTo)
    const got = resumed.events.filter(e => Number(e.id) <= upTo)
    assert.ok(!got.some(e => e.event === 'snapshot'), 'a resumable client gets no snapshot')
    assert.deepEqual(got.map(e => [e.id, e.event, e.data]), missed.map(e => [e.id, e.event, e.data]), 'exactly the missed events, in order')
    const created = got.filter(e => e.event === 'task').map(e => JSON.parse(e.data) as { id: string, op: string, origin: string })
    assert.deepEqual(created.map(t => t.id), ['sse-b-0', 'sse-b-1', 'sse-b-2', 'sse-b-3'])
    assert.ok(created.every(t => t.op === 'created' && t.origin === 'local'))
  })

  it('WebSocket: a change made on node 1 arrives on node 2\'s /ws; resume and snapshot work as for SSE', async () => {
    const client = await ws(n2)
    await waitFor(() => client.msgs[0], 'the first WebSocket message')
    assert.equal(client.msgs[0]?.type, 'snapshot', 'a fresh connection starts with a snapshot')
    assert.equal(client.msgs[0]?.data.resumed, false)
    const r = await api(n1.url, 'POST', '/api/tasks', { id: 'WS-1', title: 'made on node 1' })
    assert.equal(r.status, 201)
    const got = await waitFor(() => client.msgs.find(m => m.type === 'task' && m.data.id === 'WS-1'), 'the task event for WS-1 on node 2', 20_000)
    assert.equal(got.data.op, 'created')
    assert.equal(got.data.origin, 'remote', 'node 2 learnt it from node 1')
    assert.equal(typeof got.at, 'number')
    client.close()

    // Resume from just before WS-1: the same event again, no snapshot.
    const again = await ws(n2, got.id - 1)
    const replay = await waitFor(() => again.msgs[0], 'the replayed event')
    again.close()
    assert.deepEqual(replay, got)
    // An id from a previous run of the node (above the current one) is meaningless: snapshot.
    const future = await ws(n2, 10_000_000)
    const snap = await waitFor(() => future.msgs[0], 'the snapshot for a future id')
    future.close()
    assert.equal(snap.type, 'snapshot')

    const plain = await api(n2.url, 'GET', '/ws')
    assert.equal(plain.status, 426, 'a plain GET is told to upgrade')
  })

  it('metrics: names prefixed fleet_, with values that match a known workload', async () => {
    const before1 = await scrape(n1)
    const pendingBefore = (await getJson<Array<{ status: string }>>(n1.url, '/api/tasks?status=pending')).length
    const postsBefore = before1.s.get('fleet_http_request_duration_seconds_count{method="POST",route="/api/tasks",status="201"}') ?? 0
    await createTasks(n1, 'metric', 7)
    await waitFor(async () => (await getJson<unknown[]>(n2.url, '/api/tasks?status=pending')).length === pendingBefore + 7, 'the 7 tasks to reach node 2')

    const { text, s } = await scrape(n2)
    for (const line of text.split('\n')) {
      const name = /^# (?:HELP|TYPE) (\S+)/.exec(line)?.[1]
      if (name !== undefined) assert.ok(name.startsWith('fleet_'), `metric ${name} lacks the fleet_ prefix`)
    }
    assert.equal(s.get('fleet_tasks{status="pending"}'), pendingBefore + 7)
    assert.equal(s.get('fleet_tasks{status="done"}'), 0)
    assert.equal(s.get('fleet_connected_peers'), 1)
    assert.ok((s.get('fleet_gossip_messages_total{direction="in"}') ?? 0) > 0, 'gossip received')
    assert.ok((s.get('fleet_gossip_messages_total{direction="out"}') ?? 0) > 0, 'gossip sent')
    assert.equal(s.get('fleet_gossip_messages_total{direction="dropped"}'), 0)
    assert.ok((s.get('fleet_sync_rounds_total') ?? 0) >= 1, 'a sync round ran on connect')
    assert.ok((s.get('fleet_document_bytes') ?? 0) > 1000, 'the replica has a size')
    assert.equal(s.get('fleet_materialization_repairs_total'), 0, 'no stale Automerge view was seen')
    const local1 = (await scrape(n1)).s
    const localWrites = (local1.get('fleet_local_writes_total') ?? 0) - (before1.s.get('fleet_local_writes_total') ?? 0)
    assert.ok(localWrites >= 7, `node 1 counted ${localWrites} local writes for the 7 tasks created on it`)
    assert.ok((local1.get('fleet_local_changes_total') ?? Infinity) <= (local1.get('fleet_local_writes_total') ?? 0), 'no more local changes than local writes')
    assert.ok((s.get('fleet_storage_bytes{kind="chunks"}') ?? 0) + (s.get('fleet_storage_bytes{kind="snapshot"}') ?? 0) > 0)
    assert.ok((s.get('fleet_events_total{type="task"}') ?? 0) >= 7)
    assert.equal(s.get(`fleet_peer_heads_behind{peer="${n1.peerId}"}`) !== undefined, true, 'node 1 is listed per peer')
    assert.equal(s.get('fleet_merge_queue_length'), 0)
    const agents = ['healthy', 'stale', 'dead'].reduce((sum, h) => sum + (s.get(`fleet_agents{health="${h}"}`) ?? 0), 0)
    assert.equal(agents, 1, 'agent-a, registered on node 1, is counted on node 2')
    assert.ok(s.has('fleet_leader_term') && s.has('fleet_is_leader'))
    assert.equal(s.get('fleet_is_leader'), 0, 'node 2 has no git clone, so it never leads')
    for (const name of ['fleet_claims_total{result="confirmed"}', 'fleet_claims_total{result="lost"}', 'fleet_lease_expiries_total', 'fleet_merges_total{result="merged"}', 'fleet_merges_total{result="ejected"}']) {
      assert.ok(s.has(name), `${name} is exported`)
    }
    assert.ok((s.get('fleet_process_resident_memory_bytes') ?? 0) > 0, 'process metrics carry the prefix')
    assert.ok(s.has('fleet_nodejs_eventloop_lag_seconds'))

    const after1 = await scrape(n1)
    assert.equal(after1.s.get('fleet_http_request_duration_seconds_count{method="POST",route="/api/tasks",status="201"}'), postsBefore + 7, 'each POST timed once, under its route pattern')
    assert.ok(after1.s.has('fleet_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/api/tasks",status="201"}'))
    assert.ok([...after1.s.keys()].some(k => k.includes('route="/api/tasks/:id"') || k.includes('route="/health"')), 'routes are patterns, not raw URLs')
  })

  it('SSE and WebSocket: an id that has left the event buffer gets a snapshot instead', async function () {
    // 2,100 tasks in one import are 2,100 events: more than the buffer of 2,000 keeps.
    const lines = ['# Plan: bulk', 'id: bulk', '', '## Epic BULK: Bulk', '']
    for (let i = 0; i < 2100; i++) lines.push(`- [B${i}] bulk task ${i} (1h)`)
    const before = (await getJson<{ id: string }[]>(n1.url, '/api/tasks')).length
    const stale = sse(n1)
    await waitFor(() => stale.events[0], 'the snapshot')
    stale.stop()
    const oldId = stale.events[0]?.id ?? '0'
    const imp = await api(n1.url, 'POST', '/api/plan/import', { content: lines.join('\n'), file: 'bulk.md' })
    assert.equal(imp.status, 200, JSON.stringify(imp.body).slice(0, 500))
    assert.equal((await getJson<unknown[]>(n1.url, '/api/tasks')).length, before + 2100)

    const resumed = sse(n1, oldId)
    const first = await waitFor(() => resumed.events[0], 'the first event after resuming with a stale id')
    resumed.stop()
    assert.equal(first.event, 'snapshot')
    assert.equal((JSON.parse(first.data) as { resumed: boolean }).resumed, false)

    const w = await ws(n1, Number(oldId))
    const m = await waitFor(() => w.msgs[0], 'the first WebSocket message for a stale id')
    w.close()
    assert.equal(m.type, 'snapshot')
  })
})
