import '../node/polyfill.js'
import { killAll, removeDir, startCluster, type StartedNode } from './lib/node-process.js'
import { prepareStorm, runClaimStorm, stormSummary } from './lib/claim-storm.js'
import { machineLine } from './lib/stats.js'
import { waitFor } from './lib/wait.js'

/**
 * bench:storm — the contention test as a benchmark: 3 nodes, 12 agents (4 per node) racing over
 * HTTP for the first 3 available tasks of a 1-role plan, for BENCH_SECONDS (default 40). Prints
 * claims accepted/refused/confirmed, claim-to-confirmed p50/p99, and task attempts confirmed twice
 * (must be 0).
 */
const NODES = Number(process.env.BENCH_NODES ?? 3)
const PER_NODE = Number(process.env.BENCH_AGENTS_PER_NODE ?? 4)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 40)
const TASKS = Number(process.env.BENCH_TASKS ?? 400)

async function main (): Promise<void> {
  const nodes: StartedNode[] = []
  try {
    nodes.push(...await startCluster(NODES))
    const agents = await prepareStorm(nodes.map(n => n.url), { tasks: TASKS, agentsPerNode: PER_NODE, role: 'backend', waitFor })
    const t0 = Date.now()
    const r = await runClaimStorm({ agents, role: 'backend', targetConfirmed: Number.POSITIVE_INFINITY, deadline: t0 + SECONDS * 1000 })
    process.stdout.write(`bench:storm (${machineLine()}): ${NODES} nodes, ${agents.length} agents\n${stormSummary(r, (Date.now() - t0) / 1000)}\n`)
    for (const d of r.doubleConfirmed) process.stdout.write(`  confirmed twice: ${d.taskId} attempt ${d.attempt}: ${d.assignments.join(', ')}\n`)
  } finally {
    await killAll()
    for (const n of nodes) removeDir(n.dataDir)
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:storm failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(1)
})
