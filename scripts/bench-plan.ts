import '../node/polyfill.js'
import { killAll, removeDir, startNode, stopNode, type StartedNode } from './lib/node-process.js'
import { machineLine, rssMb } from './lib/stats.js'
import { waitFor } from './lib/wait.js'
import { generatePlan, GENERATED_EPICS } from './lib/generate-plan.js'

/**
 * bench:plan — a generated 10,000-task plan: import time on one node, time until 5 nodes hold it
 * all, document load time from disk at start, and RSS per node.
 */
const NODES = Number(process.env.BENCH_NODES ?? 5)
const TASKS = Number(process.env.BENCH_TASKS ?? 10_000)
async function health (n: StartedNode): Promise<{ heads: string[] }> {
  return await (await fetch(n.url + '/health')).json() as { heads: string[] }
}

async function main (): Promise<void> {
  const nodes: StartedNode[] = []
  try {
    nodes.push(await startNode())
    nodes.push(...await Promise.all(Array.from({ length: NODES - 1 }, async () => await startNode({ bootstrap: [nodes[0]?.addr ?? ''] }))))
    await waitFor(async () => (await Promise.all(nodes.map(async n => (await (await fetch(n.url + '/health')).json() as { peers: number }).peers))).every(p => p === NODES - 1), 'the cluster to connect', 30_000)
    const first = nodes[0] as StartedNode
    const body = JSON.stringify({ plan: generatePlan(TASKS) })

    const t0 = performance.now()
    const res = await fetch(first.url + '/api/plan/import', { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    const summary = await res.json() as { totalTasks: number, heads: string[] }
    const imported = performance.now() - t0
    if (res.status !== 200 || summary.totalTasks !== TASKS) throw new Error(`import failed: ${res.status} ${JSON.stringify(summary).slice(0, 300)}`)
    const target = summary.heads.join()
    await waitFor(async () => (await Promise.all(nodes.map(async n => (await health(n)).heads.join()))).every(h => h === target), `all ${NODES} nodes to hold the plan`, 60_000, 10)
    const everywhere = performance.now() - t0
    for (const n of nodes) {
      const o = await (await fetch(n.url + '/api/progress/overview')).json() as { totalTasks: number }
      if (o.totalTasks !== TASKS) throw new Error(`${n.url} shows ${o.totalTasks} tasks`)
    }
    const rss = await Promise.all(nodes.map(async n => await rssMb(n.proc.pid ?? 0)))

    // Load time: restart node 2 from its data dir and read what it reports.
    const second = nodes[1] as StartedNode
    await stopNode(second)
    const again = await startNode({ dataDir: second.dataDir, bootstrap: [first.addr] })
    nodes[1] = again
    const loadLine = again.stdout.find(l => l.startsWith('document: ')) ?? '?'
    const rssAfterLoad = await rssMb(again.proc.pid ?? 0)

    process.stdout.write([
      `bench:plan  ${machineLine()}`,
      `plan: ${TASKS} tasks, ${GENERATED_EPICS} epics, request body ${(body.length / 1024 / 1024).toFixed(1)} MB`,
      `import on one node (HTTP request, validated, written, on disk): ${imported.toFixed(0)} ms`,
      `all ${NODES} nodes hold all ${TASKS} tasks after: ${everywhere.toFixed(0)} ms`,
      `restarted node: ${loadLine}`,
      `RSS per node after import (MB): ${rss.map(r => r.toFixed(0)).join(', ')}; restarted node after load: ${rssAfterLoad.toFixed(0)}`
    ].join('\n') + '\n')
  } finally {
    await killAll()
    for (const n of nodes) removeDir(n.dataDir)
  }
}

if (process.argv[1]?.endsWith('bench-plan.js') === true) {
  main().then(() => process.exit(0), (err: unknown) => {
    process.stderr.write(`bench:plan failed: ${(err as Error).stack ?? String(err)}\n`)
    process.exit(1)
  })
}
