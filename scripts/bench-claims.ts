import '../node/polyfill.js'
import { killAll, removeDir, startNode, type StartedNode } from './lib/node-process.js'
import { machineLine, percentile } from './lib/stats.js'
import { waitFor } from './lib/wait.js'

/**
 * bench:claims — 5 nodes, 7 agents (spread over the nodes, one role each), 1,000 tasks. Each
 * agent loops: take the best available task for its role, claim it, wait until its node says
 * confirmed (or lost), complete it. Prints confirmed claims/s, claim-to-confirmed latency,
 * saved document bytes per completed task, and what an hour of heartbeats adds to the document.
 */
const NODES = Number(process.env.BENCH_NODES ?? 5)
const AGENTS = Number(process.env.BENCH_AGENTS ?? 7)
const TASKS = Number(process.env.BENCH_TASKS ?? 1000)
const ROLES = ['backend', 'frontend', 'schemas', 'facilities', 'incidents', 'remaining', 'routes']

async function call<T> (url: string, method: string, body?: unknown): Promise<{ status: number, body: T }> {
  const res = await fetch(url, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
  return { status: res.status, body: await res.json() as T }
}

async function docBytes (n: StartedNode): Promise<number> {
  return (await call<{ savedBytes: number }>(n.url + '/api/document', 'GET')).body.savedBytes
}

async function main (): Promise<void> {
  const nodes: StartedNode[] = []
  try {
    nodes.push(await startNode())
    nodes.push(...await Promise.all(Array.from({ length: NODES - 1 }, async () => await startNode({ bootstrap: [nodes[0]?.addr ?? ''] }))))
    await waitFor(async () => (await Promise.all(nodes.map(async n => (await call<{ peers: number }>(n.url + '/health', 'GET')).body.peers))).every(p => p === NODES - 1), 'the cluster to connect', 30_000)
    const first = nodes[0] as StartedNode
    const plan = {
      id: 'bench-claims',
      title: 'claims benchmark',
      epics: ROLES.map((r, i) => ({ id: `E${i}`, title: r, role: r })),
      tasks: Array.from({ length: TASKS }, (_, i) => ({ id: `C${i}`, epic: `E${i % ROLES.length}`, title: `task ${i}`, estimatedHours: 1, dependsOn: [] }))
    }
    const imp = await call<{ heads: string[] }>(first.url + '/api/plan/import', 'POST', { plan })
    if (imp.status !== 200) throw new Error(`import failed ${imp.status}`)
    await waitFor(async () => (await Promise.all(nodes.map(async n => (await call<{ heads: string[] }>(n.url + '/health', 'GET')).body.heads.join()))).every(h => h === imp.body.heads.join()), 'the plan on every node', 60_000)
    const bytesBefore = await docBytes(first)

    const agents = Array.from({ length: AGENTS }, (_, i) => ({ id: `agent-${String.fromCharCode(65 + i)}`, role: ROLES[i % ROLES.length] as string, node: nodes[i % NODES] as StartedNode }))
    for (const a of agents) await call(a.node.url + '/api/agents', 'POST', { id: a.id, role: a.role })
    await waitFor(async () => (await Promise.all(nodes.map(async n => (await call<unknown[]>(n.url + '/api/agents', 'GET')).body.length))).every(c => c === AGENTS), 'agents on every node', 30_000)

    const latencies: number[] = []
    let lost = 0
    let conflicts = 0
    const t0 = performance.now()
    await Promise.all(agents.map(async (a) => {
      for (;;) {
        const avail = await call<Array<{ id: string }>>(`${a.node.url}/api/tasks/available?role=${a.role}`, 'GET')
        const task = avail.body[0]
        if (task === undefined) return
        const sent = performance.now()
        const c = await call<{ id: string }>(a.node.url + '/api/assignments', 'POST', { taskId: task.id, agentId: a.id })
        if (c.status !== 202) { conflicts++; continue }
        let state = 'pending'
        while (state === 'pending') {
          state = (await call<{ state: string }>(`${a.node.url}/api/assignments/${c.body.id}`, 'GET')).body.state
          if (state === 'pending') await new Promise(resolve => setTimeout(resolve, 2))
        }
        if (state !== 'confirmed') { lost++; continue }
        latencies.push(performance.now() - sent)
        const done = await call(`${a.node.url}/api/assignments/${c.body.id}/complete`, 'PUT', { summary: 'benchmark' })
        if (done.status !== 200) throw new Error(`complete -> ${done.status}`)
      }
    }))
    const elapsed = (performance.now() - t0) / 1000
    const bytesAfter = await docBytes(first)

    // An hour of heartbeats: 7 agents every 30 s = 120 beats each, as fast as they go.
    const beforeBeats = await docBytes(first)
    const headsBefore = (await call<{ heads: string[] }>(first.url + '/health', 'GET')).body.heads.join()
    for (let i = 0; i < 120; i++) await Promise.all(agents.map(async a => await call(`${a.node.url}/api/agents/${a.id}/heartbeat`, 'PUT', {})))
    const afterBeats = await docBytes(first)
    const headsAfter = (await call<{ heads: string[] }>(first.url + '/health', 'GET')).body.heads.join()

    process.stdout.write([
      `bench:claims  ${machineLine()}`,
      `nodes: ${NODES}, agents: ${AGENTS} (one role each), tasks: ${TASKS}`,
      `confirmed claims: ${latencies.length} in ${elapsed.toFixed(1)} s = ${(latencies.length / elapsed).toFixed(0)} claims/s cluster-wide (claim, confirm, complete per task); lost ${lost}, refused ${conflicts}`,
      `claim -> confirmed latency: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`,
      `saved document: ${bytesBefore} bytes with the plan, ${bytesAfter} after ${latencies.length} completed tasks = ${((bytesAfter - bytesBefore) / Math.max(1, latencies.length)).toFixed(0)} bytes per completed task`,
      `an hour of heartbeats (7 agents x 120): document ${beforeBeats} -> ${afterBeats} bytes (${afterBeats - beforeBeats >= 0 ? '+' : ''}${afterBeats - beforeBeats}), heads ${headsBefore === headsAfter ? 'unchanged' : 'CHANGED'}`
    ].join('\n') + '\n')
  } finally {
    await killAll()
    for (const n of nodes) removeDir(n.dataDir)
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`bench:claims failed: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
