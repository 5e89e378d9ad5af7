import '../node/polyfill.js'
import { metricSum } from './lib/metrics.js'
import { killAll, removeDir, startNode, type StartedNode } from './lib/node-process.js'
import { cpuMs, machineLine } from './lib/stats.js'
import { waitFor } from './lib/wait.js'

/**
 * bench:nodes — idle cost per node as the cluster grows. For each size N (BENCH_SIZES, default
 * 4,8,16): start N nodes on 127.0.0.1 bootstrapped from node 1, wait until every node sees the
 * others, then with nothing happening measure each node's CPU (user + system, from /proc) and the
 * gossip messages it received over BENCH_IDLE_S seconds; then time one write until every node holds it.
 * Prints one table. Figures depend on the machine's load: run it on an otherwise idle machine
 * (BENCH_START_TIMEOUT_S, default 120, bounds each node's start-up).
 */
const SIZES = (process.env.BENCH_SIZES ?? '4,8,16').split(',').map(Number)
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 20)
const START_BATCH = 2
const START_TIMEOUT_MS = Number(process.env.BENCH_START_TIMEOUT_S ?? 120) * 1000
/** BENCH_ENTRY: another build's dist/node/cli/main.js (a baseline run in the same conditions). */
const ENTRY = process.env.BENCH_ENTRY === undefined ? {} : { entry: process.env.BENCH_ENTRY }

interface Row { n: number, formS: number, cpuPct: number, cpuMaxPct: number, msgsIn: number, writeMs: number }

async function get<T> (url: string): Promise<T> {
  const res = await fetch(url)
  return await res.json() as T
}

/** Peers this node counts as live members: one fleet_peer_in_sync sample each. */
async function livePeers (n: StartedNode): Promise<number> {
  const text = await (await fetch(n.url + '/metrics')).text()
  return text.split('\n').filter(l => l.startsWith('fleet_peer_in_sync{')).length
}

async function heads (n: StartedNode): Promise<string> {
  return (await get<{ heads: string[] }>(n.url + '/health')).heads.join()
}

async function runSize (n: number): Promise<Row> {
  const nodes: StartedNode[] = []
  try {
    const t0 = performance.now()
    nodes.push(await startNode({ startTimeoutMs: START_TIMEOUT_MS, ...ENTRY }))
    // A few at a time: 15 node processes loading at once on 2 cores take longer than startNode waits.
    for (let i = 1; i < n; i += START_BATCH) {
      nodes.push(...await Promise.all(Array.from({ length: Math.min(START_BATCH, n - i) }, async () => await startNode({ bootstrap: [nodes[0]?.addr ?? ''], startTimeoutMs: START_TIMEOUT_MS, ...ENTRY }))))
    }
    // Formed: every node knows every other as a live member (the membership view, not connections).
    await waitFor(async () => (await Promise.all(nodes.map(async x => await livePeers(x)))).every(c => c >= n - 1), `all ${n} nodes to see each other`, 180_000, 250)
    const formS = (performance.now() - t0) / 1000
    const cpu0 = await Promise.all(nodes.map(async x => await cpuMs(x.proc.pid as number)))
    const in0 = await Promise.all(nodes.map(async x => await metricSum(x.url, 'fleet_gossip_messages_total{direction="in"}')))
    const w0 = performance.now()
    await new Promise(resolve => setTimeout(resolve, IDLE_S * 1000))
    const wall = performance.now() - w0
    const cpu1 = await Promise.all(nodes.map(async x => await cpuMs(x.proc.pid as number)))
    const in1 = await Promise.all(nodes.map(async x => await metricSum(x.url, 'fleet_gossip_messages_total{direction="in"}')))
    const pct = cpu1.map((c, i) => 100 * (c - (cpu0[i] as number)) / wall)
    const msgs = in1.map((c, i) => (c - (in0[i] as number)) / (wall / 1000))

    const first = nodes[0] as StartedNode
    const ws = performance.now()
    const res = await fetch(first.url + '/api/plan/import', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ plan: { id: 'bench-nodes', title: 'spread', epics: [{ id: 'E1', title: 'e', role: 'r' }], tasks: [{ id: 'T1', epic: 'E1', title: 't', estimatedHours: 1, dependsOn: [] }] } }) })
    if (res.status !== 200) throw new Error(`import failed ${res.status}`)
    const target = await heads(first)
    await waitFor(async () => (await Promise.all(nodes.map(heads))).every(h => h === target), 'the write on every node', 60_000, 20)
    const writeMs = performance.now() - ws
    return { n, formS, cpuPct: pct.reduce((a, b) => a + b, 0) / n, cpuMaxPct: Math.max(...pct), msgsIn: msgs.reduce((a, b) => a + b, 0) / n, writeMs }
  } finally {
    await killAll()
    for (const x of nodes) removeDir(x.dataDir)
  }
}

async function main (): Promise<void> {
  const rows: Row[] = []
  for (const n of SIZES) {
    const r = await runSize(n)
    rows.push(r)
    process.stderr.write(`bench:nodes: ${JSON.stringify(r)}\n`)
  }
  const pad = (s: string, w: number): string => s.padStart(w)
  process.stdout.write([
    `bench:nodes  ${machineLine()}  (idle window ${IDLE_S} s, loopback)`,
    `${pad('nodes', 5)} ${pad('formed s', 9)} ${pad('idle CPU %/node', 16)} ${pad('max %', 6)} ${pad('gossip in/s/node', 17)} ${pad('write spread ms', 16)}`,
    ...rows.map(r => `${pad(String(r.n), 5)} ${pad(r.formS.toFixed(1), 9)} ${pad(r.cpuPct.toFixed(1), 16)} ${pad(r.cpuMaxPct.toFixed(1), 6)} ${pad(r.msgsIn.toFixed(1), 17)} ${pad(r.writeMs.toFixed(0), 16)}`)
  ].join('\n') + '\n')
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`bench:nodes failed: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
