import '../node/polyfill.js'
import { killAll, removeDir, startCluster, stopNode, type StartedNode } from './lib/node-process.js'
import { readSse } from './lib/sse.js'
import { metricSum } from './lib/metrics.js'
import { cpuMs, machineLine, percentile, rssMb } from './lib/stats.js'
import { waitFor } from './lib/wait.js'

/**
 * bench:sync — 3 node processes (BENCH_NODES); 1,000 sequential writes on node 1; how long until
 * every node holds all of them, the per-change propagation delay (from the moment the client sent
 * the write to its arrival in another node's live event stream), and each node's RSS. Then 8
 * concurrent writers (BENCH_WRITERS) on node 1 for BENCH_CONCURRENT_WRITES writes in all:
 * acknowledged writes per second (each acknowledged only once on disk: group commit), writes per
 * change, and each node's CPU per acknowledged write in that phase.
 */
const NODES = Number(process.env.BENCH_NODES ?? 3)
const WRITES = Number(process.env.BENCH_WRITES ?? 1000)
const WRITERS = Number(process.env.BENCH_WRITERS ?? 8)
const CONCURRENT_WRITES = Number(process.env.BENCH_CONCURRENT_WRITES ?? 2000)
/** BENCH_CPU_PROF=<dir>: every node writes a V8 CPU profile there when the run ends (where the time goes). */
const CPU_PROF = process.env.BENCH_CPU_PROF

async function write (url: string, id: string): Promise<void> {
  const res = await fetch(url + '/api/tasks', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, title: `benchmark write ${id}` }) })
  if (res.status !== 201) throw new Error(`write ${id} -> ${res.status}`)
  await res.arrayBuffer()
}

/** WRITERS clients writing at once, each its next write as soon as the last one is acknowledged. */
async function concurrentWrites (url: string): Promise<{ ms: number, latencies: number[] }> {
  let next = 0
  const latencies: number[] = []
  const t0 = performance.now()
  await Promise.all(Array.from({ length: WRITERS }, async () => {
    while (next < CONCURRENT_WRITES) {
      const i = next++
      const s = performance.now()
      await write(url, `conc-${i}`)
      latencies.push(performance.now() - s)
    }
  }))
  return { ms: performance.now() - t0, latencies }
}

async function main (): Promise<void> {
  const nodes: StartedNode[] = []
  const abort = new AbortController()
  try {
    nodes.push(...await startCluster(NODES, {
      startTimeoutMs: 120_000,
      ...(process.env.BENCH_ENTRY === undefined ? {} : { entry: process.env.BENCH_ENTRY }),
      ...(CPU_PROF === undefined ? {} : { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', CPU_PROF] })
    }, 120_000))

    const sentAt = new Map<string, number>()
    const arrivals: number[] = []
    const seen = nodes.slice(1).map(() => new Set<string>())
    let lastArrival = 0
    nodes.slice(1).forEach((n, i) => {
      readSse(n.url + '/api/events', (e) => {
        if (e.event !== 'task') return
        const d = JSON.parse(e.data) as { id: string, op: string }
        const sent = sentAt.get(d.id)
        if (d.op !== 'created' || sent === undefined || seen[i]?.has(d.id) === true) return
        const now = performance.now()
        seen[i]?.add(d.id)
        arrivals.push(now - sent)
        lastArrival = Math.max(lastArrival, now)
      }, { signal: abort.signal }).catch(() => {})
    })
    // Let the event streams open before the first write.
    await waitFor(() => true, 'streams', 1000)
    await new Promise(resolve => setTimeout(resolve, 300))

    const first = nodes[0]
    if (first === undefined) throw new Error('no node')
    const cpu0 = await Promise.all(nodes.map(async n => await cpuMs(n.proc.pid ?? 0)))
    const t0 = performance.now()
    for (let i = 0; i < WRITES; i++) {
      const id = `bench-${i}`
      sentAt.set(id, performance.now())
      await write(first.url, id)
    }
    const writesDone = performance.now()
    await waitFor(() => seen.every(s => s.size === WRITES), `every node to hold all ${WRITES} writes`, 60_000, 10)
    const cpu = (await Promise.all(nodes.map(async n => await cpuMs(n.proc.pid ?? 0)))).map((c, i) => (c - (cpu0[i] ?? 0)) / WRITES)
    const rss = await Promise.all(nodes.map(async n => await rssMb(n.proc.pid ?? 0)))
    const local = async (): Promise<[number, number]> => [await metricSum(first.url, 'fleet_local_writes_total '), await metricSum(first.url, 'fleet_local_changes_total ')]
    const [writes0, changes0] = await local()
    const cpuC0 = await Promise.all(nodes.map(async n => await cpuMs(n.proc.pid ?? 0)))
    const conc = await concurrentWrites(first.url)
    // CPU per acknowledged write in this phase: less at the machine's mercy than writes/s.
    const cpuConc = (await Promise.all(nodes.map(async n => await cpuMs(n.proc.pid ?? 0)))).map((c, i) => (c - (cpuC0[i] ?? 0)) / CONCURRENT_WRITES)
    const [writes1, changes1] = await local()

    const lines = [
      `bench:sync  ${machineLine()}`,
      `nodes: ${NODES}, sequential writes on node 1: ${WRITES}`,
      `writes acknowledged in: ${(writesDone - t0).toFixed(0)} ms (${(WRITES / ((writesDone - t0) / 1000)).toFixed(0)} writes/s)`,
      `all ${WRITES} on all ${NODES} nodes after: ${(lastArrival - t0).toFixed(0)} ms from the first write`,
      `propagation delay (send -> arrival on another node): p50 ${percentile(arrivals, 50).toFixed(1)} ms, p99 ${percentile(arrivals, 99).toFixed(1)} ms, max ${percentile(arrivals, 100).toFixed(1)} ms`,
      `CPU per write (ms, node 1 first): ${cpu.map(c => c.toFixed(2)).join(', ')}`,
      `RSS per node (MB): ${rss.map(r => r.toFixed(0)).join(', ')}`,
      `${WRITERS} concurrent writers on node 1, ${CONCURRENT_WRITES} writes: ${(CONCURRENT_WRITES / (conc.ms / 1000)).toFixed(0)} acknowledged writes/s; latency p50 ${percentile(conc.latencies, 50).toFixed(1)} ms, p99 ${percentile(conc.latencies, 99).toFixed(1)} ms; ${((writes1 - writes0) / Math.max(1, changes1 - changes0)).toFixed(1)} writes per change; CPU per write (ms, node 1 first, until acknowledged): ${cpuConc.map(c => c.toFixed(2)).join(', ')}`
    ]
    process.stdout.write(lines.join('\n') + '\n')
    // A graceful stop, so that --cpu-prof writes its profiles.
    if (CPU_PROF !== undefined) await Promise.all(nodes.map(async n => await stopNode(n)))
  } finally {
    abort.abort()
    await killAll()
    for (const n of nodes) removeDir(n.dataDir)
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`bench:sync failed: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
