import '../node/polyfill.js'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generatePlan } from './lib/generate-plan.js'
import { importCostInChild } from './lib/import-cost.js'
import { projectionCost } from './lib/projection-cost.js'
import { killAll, removeDir, startCluster, startNode, stopNode, type StartedNode } from './lib/node-process.js'
import { metricSum } from './lib/metrics.js'
import { machineLine, percentile, rssMb } from './lib/stats.js'
import { waitFor } from './lib/wait.js'

/**
 * bench:scale — what one write, claim and read cost as the document grows (issue 11): for each
 * document size (BENCH_SIZES, default 0,10000,50000,100000 tasks of the bench:plan shape):
 *   one node: plan import over HTTP, sequential write p50/p99, GET /api/tasks/available?role=
 *   p50/p99, load from disk at restart, RSS, event-loop lag max;
 *   3 nodes: import until every node holds it, sequential writes on node 1, claim -> confirmed
 *   p50/p99, RSS, event-loop lag max.
 * BENCH_BASELINE=<another build's dist/node/cli/main.js> runs the same steps on that build too and
 * prints both side by side (sizes above its plan limit are skipped for it).
 */
const SIZES = (process.env.BENCH_SIZES ?? '0,10000,50000,100000').split(',').map(Number)
/** BENCH_INPROC_ONLY=1: only the in-process projection figures (no node processes). */
const INPROC_ONLY = process.env.BENCH_INPROC_ONLY === '1'
const WRITES = Number(process.env.BENCH_WRITES ?? 200)
const READS = Number(process.env.BENCH_READS ?? 50)
const CLAIMS = Number(process.env.BENCH_CLAIMS ?? 20)
const BASELINE = process.env.BENCH_BASELINE
/** The plan limit of builds before issue 11 (plan/schema.ts MAX_TASKS). */
const BASELINE_MAX_TASKS = Number(process.env.BENCH_BASELINE_MAX_TASKS ?? 20_000)

/** How long the 3-node row waits for every node to hold the plan before recording it as missed. */
const EVERYWHERE_TIMEOUT_MS = Number(process.env.BENCH_EVERYWHERE_TIMEOUT_MS ?? 300_000)
/** BENCH_THREE_NODES=0: only the one-node and in-process rows (the 3-node rows take longest); BENCH_INPROC=0: no in-process rows; BENCH_ONE_NODE=0: no one-node rows. */
const THREE_NODES = process.env.BENCH_THREE_NODES !== '0'

/**
 * BENCH_RUNTIME=installed: run the nodes with the memory settings scripts/install-node.sh's systemd
 * unit gives them (a 4 MB young generation, two malloc arenas), to compare RSS with a plain `fleet start`.
 */
const INSTALLED_RUNTIME = process.env.BENCH_RUNTIME === 'installed'
/** A busy machine can take long to start a node; a benchmark waits rather than fails. */
const startOpts = {
  startTimeoutMs: 180_000,
  ...(INSTALLED_RUNTIME ? { nodeArgs: ['--max-semi-space-size=4'], env: { MALLOC_ARENA_MAX: '2' } } : {})
}

interface Row {
  build: string
  tasks: number
  importMs?: number
  everywhereMs?: number
  writeP50?: number
  writeP99?: number
  writes3P50?: number
  writes3P99?: number
  availP50?: number
  availP99?: number
  claimP50?: number
  claimP99?: number
  loadMs?: number
  rss1?: number
  rss3?: number
  /** Event-loop lag max during the import (one large change), and during the writes, reads and claims after it. */
  importLag1?: number
  lag1?: number
  lag3?: number
}

async function call (url: string, method = 'GET', body?: unknown): Promise<{ status: number, body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- bench reads JSON
  const res = await fetch(url, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, body: text === '' ? null : JSON.parse(text) }
}

/** Max event-loop lag since the last scrape, in ms (prom-client resets it at every scrape). */
async function lagMaxMs (n: StartedNode): Promise<number> {
  return await metricSum(n.url, 'fleet_nodejs_eventloop_lag_max_seconds ') * 1000
}

async function timed (f: () => Promise<void>): Promise<number> {
  const t0 = performance.now()
  await f()
  return performance.now() - t0
}

async function importPlan (n: StartedNode, tasks: number): Promise<{ ms: number, heads: string }> {
  if (tasks === 0) return { ms: 0, heads: '' }
  const body = { plan: generatePlan(tasks) }
  let heads = ''
  const ms = await timed(async () => {
    const r = await call(n.url + '/api/plan/import', 'POST', body)
    if (r.status !== 200 || r.body.totalTasks !== tasks) throw new Error(`import of ${tasks} failed: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`)
    heads = (r.body.heads as string[]).join()
  })
  return { ms, heads }
}

async function sequentialWrites (n: StartedNode, prefix: string): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < WRITES; i++) {
    out.push(await timed(async () => {
      const r = await call(n.url + '/api/tasks', 'POST', { id: `${prefix}-${i}`, title: `benchmark write ${i}` })
      if (r.status !== 201) throw new Error(`write ${i} -> ${r.status}`)
    }))
  }
  return out
}

async function availableReads (n: StartedNode): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < READS; i++) {
    out.push(await timed(async () => {
      const r = await call(n.url + '/api/tasks/available?role=backend')
      if (r.status !== 200) throw new Error(`available -> ${r.status}`)
    }))
  }
  return out
}

/** Claim an available task, wait until this node confirmed it (every live peer acknowledged), complete it. */
async function claims (n: StartedNode): Promise<number[]> {
  await call(n.url + '/api/agents', 'POST', { id: 'bench-agent', role: 'backend' })
  const out: number[] = []
  for (let i = 0; i < CLAIMS; i++) {
    const avail = await call(n.url + '/api/tasks/available?role=backend')
    const task = (avail.body as Array<{ id: string }>)[0]
    if (task === undefined) throw new Error('nothing available to claim')
    const t0 = performance.now()
    const c = await call(n.url + '/api/assignments', 'POST', { taskId: task.id, agentId: 'bench-agent' })
    if (c.status !== 202 && c.status !== 201) throw new Error(`claim -> ${c.status} ${JSON.stringify(c.body)}`)
    const id = c.body.id as string
    await waitFor(async () => (await call(`${n.url}/api/assignments/${id}`)).body.state === 'confirmed', `claim ${id} to be confirmed`, 30_000, 2)
    out.push(performance.now() - t0)
    const done = await call(`${n.url}/api/assignments/${id}/complete`, 'PUT', { summary: 'bench' })
    if (done.status !== 200) throw new Error(`complete -> ${done.status} ${JSON.stringify(done.body)}`)
  }
  return out
}

async function oneNode (entry: string | undefined, tasks: number, row: Row): Promise<void> {
  const n = await startNode({ ...startOpts, ...(entry === undefined ? {} : { entry }) })
  try {
    await lagMaxMs(n)
    row.importMs = (await importPlan(n, tasks)).ms
    row.importLag1 = await lagMaxMs(n)
    const w = await sequentialWrites(n, 'one')
    row.writeP50 = percentile(w, 50)
    row.writeP99 = percentile(w, 99)
    const a = await availableReads(n)
    row.availP50 = percentile(a, 50)
    row.availP99 = percentile(a, 99)
    row.rss1 = await rssMb(n.proc.pid ?? 0)
    row.lag1 = await lagMaxMs(n)
    await stopNode(n)
    const again = await startNode({ ...startOpts, dataDir: n.dataDir, ...(entry === undefined ? {} : { entry }) })
    const line = again.stdout.find(l => l.startsWith('document: ')) ?? ''
    row.loadMs = Number(/in (\d+) ms/.exec(line)?.[1] ?? NaN)
    await stopNode(again)
  } finally {
    await killAll()
    removeDir(n.dataDir)
  }
}

async function threeNodes (entry: string | undefined, tasks: number, row: Row): Promise<void> {
  const opts = { ...startOpts, ...(entry === undefined ? {} : { entry }) }
  const nodes: StartedNode[] = []
  try {
    nodes.push(...await startCluster(3, opts, 60_000))
    const first = nodes[0] as StartedNode
    for (const n of nodes) await lagMaxMs(n)
    const t0 = performance.now()
    const { heads } = await importPlan(first, tasks)
    if (tasks > 0) {
      try {
        await waitFor(async () => (await Promise.all(nodes.map(async n => ((await call(n.url + '/health')).body.heads as string[]).join()))).every(h => h === heads), 'every node to hold the plan', EVERYWHERE_TIMEOUT_MS, 20)
      } catch (err) {
        // Recorded as missed, not a failed run: the rows already measured still print.
        process.stderr.write(`  ${(err as Error).message}\n`)
        row.everywhereMs = Infinity
        row.rss3 = Math.max(...await Promise.all(nodes.map(async n => await rssMb(n.proc.pid ?? 0))))
        return
      }
      row.everywhereMs = performance.now() - t0
    }
    for (const n of nodes) await lagMaxMs(n)
    const w = await sequentialWrites(first, 'three')
    row.writes3P50 = percentile(w, 50)
    row.writes3P99 = percentile(w, 99)
    const c = await claims(first)
    row.claimP50 = percentile(c, 50)
    row.claimP99 = percentile(c, 99)
    row.rss3 = Math.max(...await Promise.all(nodes.map(async n => await rssMb(n.proc.pid ?? 0))))
    row.lag3 = Math.max(...await Promise.all(nodes.map(async n => await lagMaxMs(n))))
  } finally {
    await killAll()
    for (const n of nodes) removeDir(n.dataDir)
  }
}

function fmt (v: number | undefined): string {
  return v === undefined || Number.isNaN(v) ? 'n/a' : v === Infinity ? `> ${EVERYWHERE_TIMEOUT_MS}` : v >= 100 ? v.toFixed(0) : v.toFixed(1)
}

async function main (): Promise<void> {
  const builds: Array<[string, string | undefined]> = [['after', undefined]]
  if (BASELINE !== undefined) builds.unshift(['before', BASELINE])
  const rows: Row[] = []
  for (const tasks of INPROC_ONLY ? [] : SIZES) {
    for (const [build, entry] of builds) {
      const row: Row = { build, tasks }
      if (build === 'before' && tasks > BASELINE_MAX_TASKS) { rows.push(row); continue }
      process.stderr.write(`bench:scale ${build} ${tasks} tasks...\n`)
      if (process.env.BENCH_ONE_NODE !== '0') await oneNode(entry, tasks, row)
      if (THREE_NODES) await threeNodes(entry, tasks, row)
      rows.push(row)
      process.stderr.write(`  ${JSON.stringify(row)}\n`)
    }
  }
  const cols: Array<[string, (r: Row) => string]> = [
    ['build', r => r.build], ['tasks', r => String(r.tasks)],
    ['import ms', r => fmt(r.importMs)], ['on 3 nodes ms', r => fmt(r.everywhereMs)],
    ['write p50/p99 ms', r => `${fmt(r.writeP50)} / ${fmt(r.writeP99)}`],
    ['write on 3 p50/p99', r => `${fmt(r.writes3P50)} / ${fmt(r.writes3P99)}`],
    ['claim->confirmed p50/p99', r => `${fmt(r.claimP50)} / ${fmt(r.claimP99)}`],
    ['available p50/p99', r => `${fmt(r.availP50)} / ${fmt(r.availP99)}`],
    ['load ms', r => fmt(r.loadMs)], ['RSS MB 1/3', r => `${fmt(r.rss1)} / ${fmt(r.rss3)}`],
    ['loop lag max ms: import / after, 1 node; after, 3 nodes', r => `${fmt(r.importLag1)} / ${fmt(r.lag1)}; ${fmt(r.lag3)}`]
  ]
  // In process: the projection's own cost per write, the same steps on each build.
  const here = resolve(dirname(fileURLToPath(import.meta.url)), '..')
  const roots: Array<[string, string]> = [['after', here]]
  if (BASELINE !== undefined) roots.unshift(['before', resolve(dirname(BASELINE), '../..')])
  const inproc: string[] = []
  const imports: string[] = []
  for (const tasks of process.env.BENCH_INPROC === '0' ? [] : SIZES) {
    for (const [build, root] of roots) {
      const c = await projectionCost(root, tasks, Number(process.env.BENCH_INPROC_WRITES ?? 100))
      inproc.push(`| ${build} | ${tasks} | ${fmt(c.p50)} / ${fmt(c.p99)} | ${fmt(c.rebuildMs)} |`)
      if (tasks === 0 || (build === 'before' && tasks > BASELINE_MAX_TASKS)) continue
      const i = await importCostInChild(root, tasks)
      imports.push(`| ${build} | ${tasks} | ${fmt(i.parseMs)} | ${fmt(i.importMs)} | ${fmt(i.loopGapMs)} | ${fmt(i.importLoopGapMs)} | ${fmt(i.loadMs)} | ${fmt(i.rssMb)} |`)
      process.stderr.write(`  in-node import ${build} ${tasks}: ${JSON.stringify(i)}\n`)
    }
  }
  const lines = [
    `bench:scale  ${machineLine()}; ${WRITES} sequential writes, ${READS} reads, ${CLAIMS} claims per size${INSTALLED_RUNTIME ? '; nodes run as install-node.sh installs them (--max-semi-space-size=4, MALLOC_ARENA_MAX=2)' : ''}`,
    `| ${cols.map(c => c[0]).join(' | ')} |`,
    `|${cols.map(() => '---').join('|')}|`,
    ...rows.map(r => `| ${cols.map(c => c[1](r)).join(' | ')} |`),
    '',
    'in process: projection update after one write (a new task, then its claim), ms; full build at load, ms',
    '| build | tasks | update p50 / p99 | full build |',
    '|---|---|---|---|',
    ...inproc,
    '',
    'in node (no HTTP, no peers): plan parse + validation, import until on disk, longest event-loop block during the import, load of that replica, RSS after the import',
    '| build | tasks | parse ms | import ms | loop block max ms | after the parse | load ms | RSS MB |',
    '|---|---|---|---|---|---|---|---|',
    ...imports
  ]
  process.stdout.write(lines.join('\n') + '\n')
}

main().then(() => process.exit(0), async (err: unknown) => {
  await killAll()
  process.stderr.write(`bench:scale failed: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
