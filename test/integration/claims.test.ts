import assert from 'node:assert/strict'
import { api, getJson } from '../helpers/http.js'
import { killAll, killNode, removeDir, startNode, type StartedNode } from '../../scripts/lib/node-process.js'
import { liveMembers, metricSum } from '../../scripts/lib/metrics.js'
import { waitFor } from '../../scripts/lib/wait.js'

interface Assignment { id: string, taskId: string, agentId: string, state: string, progress: number }
interface Task { id: string, status: string, assignee: string | null, assignmentId: string | null, reason: string | null, attempt: number, failures: number }

async function connected (nodes: StartedNode[]): Promise<void> {
  await waitFor(async () => {
    const peers = await Promise.all(nodes.map(async n => (await getJson<{ peers: number }>(n.url, '/health')).peers))
    return peers.every(p => p === nodes.length - 1)
  }, `all ${nodes.length} nodes to connect to each other`, 30_000)
}

async function post (n: StartedNode, path: string, body: unknown, expect: number): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = await api(n.url, 'POST', path, body)
  assert.equal(r.status, expect, `POST ${path} -> ${r.status} ${JSON.stringify(r.body)}`)
  return r.body
}

/** Polls an assignment on its own node until it settles, recording every state it was told. */
async function settle (n: StartedNode, id: string): Promise<{ final: string, seen: string[] }> {
  const seen: string[] = []
  const final = await waitFor(async () => {
    const a = await getJson<Assignment>(n.url, `/api/assignments/${id}`)
    seen.push(a.state)
    return a.state === 'pending' ? false : a.state
  }, `assignment ${id} to be confirmed or lost`, 30_000, 10)
  return { final, seen }
}

describe('claims, leases and fencing across node processes', function () {
  this.timeout(180_000)
  const dirs: string[] = []
  afterEach(async () => {
    await killAll()
    for (const d of dirs.splice(0)) removeDir(d)
  })

  async function cluster (count: number, extraArgs: string[] = [], fullMesh = true): Promise<StartedNode[]> {
    const first = await startNode({ extraArgs })
    const rest = await Promise.all(Array.from({ length: count - 1 }, async () => await startNode({ bootstrap: [first.addr], extraArgs })))
    const nodes = [first, ...rest]
    dirs.push(...nodes.map(n => n.dataDir))
    if (fullMesh) await connected(nodes)
    return nodes
  }

  /**
   * Five agents on five nodes claim one task at the same moment, round after round until at least
   * two claims raced; records every state each agent was shown.
   */
  async function race (nodes: StartedNode[]): Promise<void> {
    const n1 = nodes[0] as StartedNode
    // A claim that arrives after another node's claim reached its node is refused (409) before it
    // races, so all five may not race every time: each round offers a new task to five new agents,
    // until at least two claims were accepted together (a race), at most ROUNDS times.
    const ROUNDS = 5
    let claims: Array<Awaited<ReturnType<typeof api<Assignment>>>> = []
    let accepted: Array<{ c: typeof claims[number], n: StartedNode }> = []
    let task = ''
    for (let round = 0; round < ROUNDS && accepted.length < 2; round++) {
      task = `CONTESTED-${round}`
      await post(n1, '/api/tasks', { id: task, title: 'everyone wants it', role: 'dev' }, 201)
      await Promise.all(nodes.map(async (n, i) => await post(n, '/api/agents', { id: `agent-${round}-${i}`, role: 'dev' }, 201)))
      await waitFor(async () => {
        const seen = await Promise.all(nodes.map(async n => (await getJson<Array<{ id: string }>>(n.url, '/api/agents')).length === 5 * (round + 1) && (await api(n.url, 'GET', `/api/tasks/${task}`)).status === 200))
        return seen.every(Boolean)
      }, `every node to know task ${task} and the agents of round ${round}`)
      claims = await Promise.all(nodes.map(async (n, i) => await api<Assignment>(n.url, 'POST', '/api/assignments', { taskId: task, agentId: `agent-${round}-${i}` })))
      for (const c of claims) assert.ok(c.status === 202 || c.status === 409, `claim answered ${c.status} ${JSON.stringify(c.body)}`)
      accepted = claims.map((c, i) => ({ c, n: nodes[i] as StartedNode })).filter(x => x.c.status === 202)
    }
    assert.ok(accepted.length >= 2, `expected concurrent claims to race in one of ${ROUNDS} rounds; the last accepted only ${accepted.length}`)
    if (process.env.FLEET_TEST_VERBOSE !== undefined) process.stdout.write(`      (${accepted.length} of 5 claims accepted)\n`)

    // Every agent keeps polling its own claim (as an agent would) until all of them have settled,
    // so a `confirmed` shown to a loser at any moment, even briefly, is recorded.
    const watched = accepted.map(({ c, n }) => ({ id: c.body.id as string, agent: c.body.agentId as string, n, seen: [c.body.state as string] }))
    await waitFor(async () => {
      const states = await Promise.all(watched.map(async (w) => {
        const state = (await getJson<Assignment>(w.n.url, `/api/assignments/${w.id}`)).state
        w.seen.push(state)
        return state
      }))
      return states.every(s => s !== 'pending')
    }, 'every accepted claim to be confirmed or lost', 30_000, 10)
    const outcomes = watched.map(w => ({ id: w.id, agent: w.agent, final: w.seen[w.seen.length - 1] as string, seen: w.seen }))
    const everConfirmed = outcomes.filter(o => o.seen.includes('confirmed'))
    assert.equal(everConfirmed.length, 1, `agents shown confirmed: ${JSON.stringify(outcomes.map(o => [o.agent, [...new Set(o.seen)]]))}`)
    const winners = outcomes.filter(o => o.final === 'confirmed')
    assert.equal(winners.length, 1, `exactly one confirmed: ${JSON.stringify(outcomes.map(o => [o.agent, o.final]))}`)
    assert.equal(winners[0]?.id, everConfirmed[0]?.id, 'the agent shown confirmed is not the one that kept the task')
    const losers = outcomes.filter(o => o.final !== 'confirmed')
    assert.equal(losers.length, accepted.length - 1)
    for (const l of losers) assert.equal(l.final, 'lost')
    const winner = winners[0] as typeof outcomes[number]
    await waitFor(async () => {
      const views = await Promise.all(nodes.map(async n => await getJson<Task>(n.url, `/api/tasks/${task}`)))
      return views.every(v => v.assignee === winner.agent && v.assignmentId === winner.id && v.status === 'in_progress')
    }, `every node to report ${winner.agent} as the assignee`)
    for (const n of nodes) {
      for (const o of outcomes) assert.equal((await getJson<Assignment>(n.url, `/api/assignments/${o.id}`)).state, o.final, `node ${n.url} disagrees on ${o.id}`)
    }
    // A loser is fenced: its progress is refused on every node.
    const loser = losers[0]
    if (loser !== undefined) {
      for (const n of nodes) assert.equal((await api(n.url, 'PUT', `/api/assignments/${loser.id}/progress`, { percent: 10 })).status, 409)
    }
  }

  it('5 agents on 5 nodes claim one task at the same moment: one confirmed, four lost, the same assignee everywhere', async () => {
    await race(await cluster(5))
  })

  it('the same race over a star overlay (--max-peers 1): the far nodes\' acks reach the claimant relayed by the hub, and still one is confirmed', async () => {
    const nodes = await cluster(5, ['--max-peers', '1'], false)
    await waitFor(async () => (await Promise.all(nodes.map(async n => await liveMembers(n.url)))).every(c => c === nodes.length - 1), 'every node to hold the other four as live members', 60_000)
    const hub = nodes[0] as StartedNode
    const relayed0 = await metricSum(hub.url, 'fleet_claim_acks_total{path="relayed"}')
    await race(nodes)
    assert.ok(await metricSum(hub.url, 'fleet_claim_acks_total{path="relayed"}') > relayed0, 'the hub passed acks on between the other nodes')
  })

  it('gives a dead node\'s task to another agent after its lease, and fences the dead assignment\'s late progress', async () => {
    const args = ['--lease', '3', '--liveness', '2', '--retry-backoff', '0.2']
    const nodes = await cluster(3, args)
    const [n1, n2] = nodes as [StartedNode, StartedNode, StartedNode]
    await post(n1, '/api/tasks', { id: 'LEASED', title: 'held by a node that dies' }, 201)
    await post(n1, '/api/agents', { id: 'doomed', role: 'dev' }, 201)
    await waitFor(async () => (await api(n2.url, 'GET', '/api/tasks/LEASED')).status === 200, 'the task on node 2')
    const a = await post(n1, '/api/assignments', { taskId: 'LEASED', agentId: 'doomed' }, 202) as Assignment
    assert.equal((await settle(n1, a.id)).final, 'confirmed')
    assert.equal((await api(n1.url, 'PUT', `/api/assignments/${a.id}/progress`, { percent: 30 })).status, 200)
    await killNode(n1)

    await waitFor(async () => (await getJson<Task>(n2.url, '/api/tasks/LEASED')).status === 'pending', 'the lease to expire and the task to come back', 30_000)
    const t = await getJson<Task>(n2.url, '/api/tasks/LEASED')
    assert.equal(t.attempt, 1)
    assert.equal(t.failures, 1)
    assert.match(t.reason ?? '', /lease/)
    assert.equal((await getJson<Assignment>(n2.url, `/api/assignments/${a.id}`)).state, 'expired')

    await post(n2, '/api/agents', { id: 'heir', role: 'dev' }, 201)
    // The heir keeps heartbeating (its lease is 3 s): a restart on a loaded machine takes longer
    // than that, and a silent heir's task would rightly expire before the old node caught up.
    const beating = setInterval(() => { api(n2.url, 'PUT', '/api/agents/heir/heartbeat', {}).catch(() => {}) }, 500)
    try {
      const b = await waitFor(async () => {
        const r = await api<Assignment>(n2.url, 'POST', '/api/assignments', { taskId: 'LEASED', agentId: 'heir' })
        return r.status === 202 ? r.body : false
      }, 'the retry backoff to pass so the task can be claimed again')
      assert.equal((await settle(n2, b.id)).final, 'confirmed')
      const late = await api<{ error: string }>(n2.url, 'PUT', `/api/assignments/${a.id}/progress`, { percent: 60 })
      assert.equal(late.status, 409)
      assert.match(late.body.error, /expired/)
      // The old node comes back with its old view; once caught up it refuses the late write too.
      const back = await startNode({ dataDir: n1.dataDir, bootstrap: [n2.addr], extraArgs: args })
      await waitFor(async () => (await getJson<Task>(back.url, '/api/tasks/LEASED')).assignee === 'heir', 'the restarted node to learn the new assignee')
      assert.equal((await api(back.url, 'PUT', `/api/assignments/${a.id}/progress`, { percent: 60 })).status, 409)
    } finally {
      clearInterval(beating)
    }
  })

  it('fails a task after N failed attempts, blocks its dependents with a reason, and retry brings them back', async () => {
    const nodes = await cluster(2, ['--max-attempts', '2', '--retry-backoff', '0.1'])
    const [n1, n2] = nodes as [StartedNode, StartedNode]
    await post(n1, '/api/tasks', { id: 'ROOT', title: 'will fail' }, 201)
    await post(n1, '/api/tasks', { id: 'CHILD', title: 'needs root', dependsOn: ['ROOT'] }, 201)
    await post(n1, '/api/tasks', { id: 'GRANDCHILD', title: 'needs child', dependsOn: ['CHILD'] }, 201)
    await post(n1, '/api/agents', { id: 'flaky', role: 'dev' }, 201)
    for (let attempt = 1; attempt <= 2; attempt++) {
      const a = await waitFor(async () => {
        const r = await api<Assignment>(n1.url, 'POST', '/api/assignments', { taskId: 'ROOT', agentId: 'flaky' })
        return r.status === 202 ? r.body : false
      }, `claim for attempt ${attempt}`)
      assert.equal((await settle(n1, a.id)).final, 'confirmed')
      assert.equal((await api(n1.url, 'PUT', `/api/assignments/${a.id}/fail`, { reason: `exit code ${attempt}` })).status, 200)
    }
    const root = await getJson<Task>(n1.url, '/api/tasks/ROOT')
    assert.equal(root.status, 'failed')
    assert.match(root.reason ?? '', /exit code 2/)
    await waitFor(async () => (await getJson<Task>(n2.url, '/api/tasks/GRANDCHILD')).status === 'blocked', 'dependents to be blocked on node 2')
    assert.match((await getJson<Task>(n2.url, '/api/tasks/CHILD')).reason ?? '', /ROOT failed/)
    assert.match((await getJson<Task>(n2.url, '/api/tasks/GRANDCHILD')).reason ?? '', /CHILD/)
    assert.equal((await api(n2.url, 'POST', '/api/tasks/ROOT/retry')).status, 200)
    await waitFor(async () => (await getJson<Task>(n1.url, '/api/tasks/CHILD')).status === 'pending', 'the dependent to be unblocked after retry')
    assert.equal((await getJson<Task>(n1.url, '/api/tasks/ROOT')).status, 'pending')
    assert.deepEqual((await getJson<Task[]>(n1.url, '/api/tasks/available')).map(t => t.id), ['ROOT'])
  })
})
