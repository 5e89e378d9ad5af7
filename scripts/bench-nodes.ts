import '../node/polyfill.js'
import { prepareStorm, runClaimStorm } from './lib/claim-storm.js'
import { liveMemberIds, sumOfSamples } from './lib/metrics.js'
import { killAll, killNode, removeDir, startNode, stopNode, type StartedNode } from './lib/node-process.js'
import { readSse } from './lib/sse.js'
import { cpuMs, machineLine, percentile } from './lib/stats.js'
import { waitFor } from './lib/wait.js'

/**
 * bench:nodes — per-node cost as the cluster grows (issue 12). For each size N (BENCH_SIZES,
 * default 4,8,16,32), one run: start N nodes on 127.0.0.1 bootstrapped from node 1 and wait until
 * every node sees every other as a live member (formed); then, after BENCH_SETTLE_S (default 30)
 * seconds and with nothing happening for BENCH_IDLE_S (default 20) seconds, each node's CPU (user + system, from /proc) and the protocol
 * messages it received (gossip frames and every frame of its sync streams: sync, heads, SWIM probes,
 * acks and member lists); one write until every node holds it (write spread, seen on each node's
 * event stream); BENCH_CLAIMS (default 20) claims made through the HTTP API by BENCH_CLAIM_AGENTS
 * (default 4) agents on nodes spread over the cluster, claim -> confirmed p50/p99 and the CPU all
 * nodes together spent per confirmed claim (on a machine with fewer cores than nodes, that CPU over
 * the cores bounds the latency from below); the SWIM suspicions raised before any node was killed
 * (all of them false: what a shorter --liveness risks); kill -9 of one
 * non-bootstrap node that is not the leader, until no other node counts it live (dead-node
 * detection); kill -9 of the current merge leader, until all the others name one other leader
 * (leader replacement). Prints one table, one row per size. Figures depend on the machine's load.
 *
 * Options (env): BENCH_START_TIMEOUT_S (120) bounds each node's start-up; BENCH_FORM_TIMEOUT_S (600)
 * the formation; BENCH_DETECT_TIMEOUT_S (120) each kill's wait; BENCH_NODE_ARGS: extra `fleet
 * start` arguments (space-separated); BENCH_ENTRY: another build's dist/node/cli/main.js (a
 * baseline run in the same conditions); BENCH_CPU_PROF=<dir>: node BENCH_PROF_NODE (default the
 * last) runs under --cpu-prof and is stopped gracefully right after the idle window, so its profile
 * ends with it (summarize its last BENCH_IDLE_S seconds with `node dist/scripts/lib/cpu-profile.js <file> 25 <BENCH_IDLE_S>`); the rest
 * of that row then runs on N - 1 nodes.
 */
const SIZES = (process.env.BENCH_SIZES ?? '4,8,16,32').split(',').map(Number)
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 20)
/** Seconds between formation and the idle window (BENCH_SETTLE_S). */
const SETTLE_S = Number(process.env.BENCH_SETTLE_S ?? 30)
const CLAIMS = Number(process.env.BENCH_CLAIMS ?? 20)
const CLAIM_AGENTS = Number(process.env.BENCH_CLAIM_AGENTS ?? 4)
const START_BATCH = 2
const START_TIMEOUT_MS = Number(process.env.BENCH_START_TIMEOUT_S ?? 120) * 1000
const FORM_TIMEOUT_MS = Number(process.env.BENCH_FORM_TIMEOUT_S ?? 600) * 1000
const DETECT_TIMEOUT_MS = Number(process.env.BENCH_DETECT_TIMEOUT_S ?? 120) * 1000
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)
/** BENCH_ENTRY: another build's dist/node/cli/main.js (a baseline run in the same conditions). */
const ENTRY = process.env.BENCH_ENTRY === undefined ? {} : { entry: process.env.BENCH_ENTRY }
const CPU_PROF = process.env.BENCH_CPU_PROF
/** Polling a node's /metrics costs it CPU: the kill phases poll each node at most this often. */
const POLL_MS = 500

interface Row {
  n: number
  formS: number
  cpuPct: number
  cpuMaxPct: number
  /** Protocol messages received per node per second while idle (gossip + sync-stream frames). */
  msgsIn: number
  /** The same split by protocol and kind, where the build exports fleet_net_frames_total. */
  kinds: Record<string, number>
  writeMs: number
  claimP50: number
  claimP99: number
  claims: number
  /** CPU of all nodes together per confirmed claim during the claims phase, ms (each claim is several changes every node applies). */
  claimCpuMs: number
  doubleConfirmed: number
  /** SWIM suspicions raised by all nodes from their start to the end of the idle window, before any kill: all false. */
  falseSuspicions: number
  deadMs: number
  leaderMs: number
  load: string
}

async function get<T> (url: string): Promise<T> {
  const res = await fetch(url)
  if (!res.ok) throw new Error(`GET ${url} -> ${res.status}`)
  return await res.json() as T
}

/** One node's counters at one moment: CPU, messages received, frames received by kind. */
interface Sample {
  /** performance.now() when the CPU was read. */
  at: number
  cpuMs: number
  /** Gossip frames received plus every frame received on sync streams (SWIM included): what both builds count. */
  msgsIn: number
  /** fleet_net_frames_total{direction="in"} by "protocol kind" (empty for a build without it). */
  kinds: Record<string, number>
  /** SWIM suspicions this node raised since it started (fleet_swim_probes_total{result="suspected"}). */
  suspicions: number
}

/**
 * Samples a node with one /metrics scrape, taken outside the window: before the CPU read at its
 * start, after it at its end, so serving the scrape is not counted as idle CPU. Each node's rates
 * are over its own span (scraping 32 loaded nodes one after another takes seconds).
 */
async function sample (n: StartedNode, end: boolean): Promise<Sample> {
  // A saturated 32-node cluster's node may miss one request: try three times before giving up on the row.
  const scrape = async (): Promise<string> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await (await fetch(n.url + '/metrics')).text()
      } catch (err) {
        if (attempt === 3) throw err
      }
    }
  }
  const before = end ? undefined : await scrape()
  const cpu = await cpuMs(n.proc.pid as number)
  const at = performance.now()
  const t = before ?? await scrape()
  const kinds: Record<string, number> = {}
  for (const l of t.split('\n')) {
    const m = /^fleet_net_frames_total\{direction="in",protocol="([^"]+)",kind="([^"]+)"\} (\S+)$/.exec(l)
    if (m !== null) kinds[`${m[1] as string} ${m[2] as string}`] = Number(m[3])
  }
  const msgsIn = sumOfSamples(t, 'fleet_gossip_messages_total{direction="in"}') + sumOfSamples(t, 'fleet_sync_messages_total{direction="in"}')
  return { at, cpuMs: cpu, msgsIn, kinds, suspicions: sumOfSamples(t, 'fleet_swim_probes_total{result="suspected"}') }
}

async function leaderOf (n: StartedNode): Promise<string | null> {
  return (await get<{ leader: string | null }>(n.url + '/health')).leader
}

/** Polls each node (at most every POLL_MS) until `done` holds for it; resolves when it holds for all. */
async function untilEach (nodes: StartedNode[], done: (n: StartedNode) => Promise<boolean>, what: string): Promise<void> {
  await Promise.all(nodes.map(async n => await waitFor(async () => await done(n), `${what} (node ${n.url})`, DETECT_TIMEOUT_MS, POLL_MS)))
}

/** Follows each node's event stream; `onEvent` sees (node index, type, data). Abort to close them. */
async function follow (nodes: StartedNode[], onEvent: (i: number, type: string, data: Record<string, unknown>) => void, signal: AbortSignal): Promise<void> {
  let open = 0
  for (const [i, n] of nodes.entries()) {
    readSse(n.url + '/api/events', (e) => {
      if (e.event === 'snapshot') open++
      else onEvent(i, e.event, JSON.parse(e.data) as Record<string, unknown>)
    }, { signal }).catch((err: unknown) => { if (!signal.aborted) process.stderr.write(`bench:nodes: event stream of ${n.url} failed: ${String(err)}\n`) })
  }
  // Each stream starts with a snapshot: from then on it sees every event.
  await waitFor(() => open === nodes.length, 'every node\'s event stream to open', 60_000, 20)
}

/** One write (a one-task plan imported on node 1): ms until every node published the task's event. */
async function writeSpread (nodes: StartedNode[], n: number): Promise<number> {
  const taskId = `spread-${n}`
  const seen = new Set<number>()
  const abort = new AbortController()
  try {
    await follow(nodes, (i, type, data) => { if (type === 'task' && data.id === taskId) seen.add(i) }, abort.signal)
    const first = nodes[0] as StartedNode
    const t0 = performance.now()
    const res = await fetch(first.url + '/api/plan/import', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ plan: { id: 'bench-nodes', title: 'spread', epics: [{ id: 'E1', title: 'e', role: 'r' }], tasks: [{ id: taskId, epic: 'E1', title: 't', estimatedHours: 1, dependsOn: [] }] } }) })
    if (res.status !== 200) throw new Error(`import failed ${res.status}: ${await res.text()}`)
    await waitFor(() => seen.size === nodes.length, 'the write on every node', 120_000, 5)
    return performance.now() - t0
  } finally {
    abort.abort()
  }
}

/** Claims through the HTTP API on nodes spread over the cluster: claim -> confirmed latencies, and the cluster's CPU per confirmed claim. */
async function claims (nodes: StartedNode[]): Promise<{ latencies: number[], doubleConfirmed: number, cpuPerClaimMs: number }> {
  const hosts = Array.from({ length: Math.min(CLAIM_AGENTS, nodes.length) }, (_, i) => nodes[Math.floor(i * nodes.length / Math.min(CLAIM_AGENTS, nodes.length))] as StartedNode)
  const agents = await prepareStorm(hosts.map(h => h.url), { tasks: CLAIMS + 2 * hosts.length, agentsPerNode: 1, role: 'bench', waitFor })
  const clusterCpu = async (): Promise<number> => (await Promise.all(nodes.map(async x => await cpuMs(x.proc.pid as number)))).reduce((a, b) => a + b, 0)
  const cpu0 = await clusterCpu()
  // Each agent picks among more tasks than there are agents: contention is bench:storm's job.
  const r = await runClaimStorm({ agents, role: 'bench', targetConfirmed: CLAIMS, deadline: Date.now() + 300_000, spread: 3 * agents.length })
  const cpuPerClaimMs = (await clusterCpu() - cpu0) / Math.max(1, r.confirmLatencies.length)
  return { latencies: r.confirmLatencies, doubleConfirmed: r.doubleConfirmed.length, cpuPerClaimMs }
}

/** kill -9 a non-bootstrap node that does not lead: ms until no other node counts it live. */
async function deadNode (nodes: StartedNode[]): Promise<{ ms: number, victim: StartedNode }> {
  const leader = await leaderOf(nodes[0] as StartedNode)
  const victim = nodes.slice(1).reverse().find(x => x.peerId !== leader) as StartedNode
  const others = nodes.filter(x => x !== victim)
  const t0 = performance.now()
  await killNode(victim)
  await untilEach(others, async x => !(await liveMemberIds(x.url)).includes(victim.peerId), 'the killed node to be dead for every other node')
  return { ms: performance.now() - t0, victim }
}

/** kill -9 the merge leader of the current term: ms until every other node names one same other leader. */
async function leaderReplacement (nodes: StartedNode[]): Promise<number> {
  // Everyone agrees on the leader first (they do, once the last kill was noticed everywhere).
  const leader = await waitFor(async () => {
    const ls = await Promise.all(nodes.map(leaderOf))
    return ls.every(l => l !== null && l === ls[0]) ? ls[0] : null
  }, 'every node to name the same leader', DETECT_TIMEOUT_MS, POLL_MS)
  const victim = nodes.find(x => x.peerId === leader)
  if (victim === undefined) throw new Error(`the leader ${String(leader)} is not one of the nodes`)
  const others = nodes.filter(x => x !== victim)
  const current = new Map<number, string | null>()
  const abort = new AbortController()
  try {
    // Each node's view, from its leader events (published when its leader moves).
    await follow(others, (i, type, data) => { if (type === 'leader') current.set(i, data.leader as string | null) }, abort.signal)
    const t0 = performance.now()
    await killNode(victim)
    await waitFor(() => {
      const views = others.map((_, i) => current.get(i) ?? leader)
      return views.every(v => v !== null && v !== leader && v === views[0])
    }, 'every other node to name one new leader', DETECT_TIMEOUT_MS, 10)
    return performance.now() - t0
  } finally {
    abort.abort()
  }
}

async function loadAverage (): Promise<string> {
  const { readFile } = await import('node:fs/promises')
  return (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ')
}

async function runSize (n: number): Promise<Row> {
  const nodes: StartedNode[] = []
  const profiled = CPU_PROF === undefined ? -1 : Number(process.env.BENCH_PROF_NODE ?? n - 1)
  const start = async (i: number): Promise<StartedNode> => await startNode({
    startTimeoutMs: START_TIMEOUT_MS,
    ...ENTRY,
    extraArgs: NODE_ARGS,
    ...(i === 0 ? {} : { bootstrap: [nodes[0]?.addr ?? ''] }),
    ...(i === profiled ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', CPU_PROF as string] } : {})
  })
  try {
    const t0 = performance.now()
    nodes.push(await start(0))
    // A few at a time: 15 node processes loading at once on 2 cores take longer than startNode waits.
    for (let i = 1; i < n; i += START_BATCH) {
      nodes.push(...await Promise.all(Array.from({ length: Math.min(START_BATCH, n - i) }, async (_, k) => await start(i + k))))
    }
    // Formed: every node knows every other as a live member (the membership view, not connections).
    const formed = new Set<StartedNode>()
    await waitFor(async () => {
      await Promise.all(nodes.filter(x => !formed.has(x)).map(async x => { if ((await liveMemberIds(x.url)).length >= n - 1) formed.add(x) }))
      return formed.size === n
    }, `all ${n} nodes to see each other`, FORM_TIMEOUT_MS, 1000)
    const formS = (performance.now() - t0) / 1000

    // A just-formed cluster is still settling (the last joiners push-pull member lists every round
    // for their first windows, inbound connections are trimmed, changed neighbour sets announced).
    await new Promise(resolve => setTimeout(resolve, SETTLE_S * 1000))
    const s0 = await Promise.all(nodes.map(async x => await sample(x, false)))
    await new Promise(resolve => setTimeout(resolve, IDLE_S * 1000))
    const s1 = await Promise.all(nodes.map(async x => await sample(x, true)))
    const load = await loadAverage()
    const spanS = (i: number): number => ((s1[i] as Sample).at - (s0[i] as Sample).at) / 1000
    const pct = s1.map((s, i) => 100 * (s.cpuMs - (s0[i] as Sample).cpuMs) / 1000 / spanS(i))
    const msgs = s1.map((s, i) => (s.msgsIn - (s0[i] as Sample).msgsIn) / spanS(i))
    const kinds: Record<string, number> = {}
    for (const [i, s] of s1.entries()) {
      for (const [key, v] of Object.entries(s.kinds)) kinds[key] = (kinds[key] ?? 0) + (v - ((s0[i] as Sample).kinds[key] ?? 0)) / spanS(i) / n
    }
    // Progress on stderr: a long row that is cut short still leaves its formation and idle figures.
    const falseSuspicions = s1.reduce((a, s) => a + s.suspicions, 0)
    process.stderr.write(`bench:nodes: ${n} nodes formed in ${formS.toFixed(1)} s; ${falseSuspicions} suspicions raised (none died); idle CPU ${(pct.reduce((a, b) => a + b, 0) / n).toFixed(1)} %/node (max ${Math.max(...pct).toFixed(1)}), ${(msgs.reduce((a, b) => a + b, 0) / n).toFixed(1)} msgs in/s/node; load ${load}; ${JSON.stringify(kinds)}\n`)
    if (profiled >= 0) {
      // A graceful stop, so that --cpu-prof writes the profile: it ends with the idle window.
      const p = nodes[profiled] as StartedNode
      await stopNode(p)
      nodes.splice(profiled, 1)
      removeDir(p.dataDir)
    }

    const writeMs = await writeSpread(nodes, n)
    const c = await claims(nodes)
    const dead = await deadNode(nodes)
    const leaderMs = await leaderReplacement(nodes.filter(x => x !== dead.victim))
    return {
      n, formS, cpuPct: pct.reduce((a, b) => a + b, 0) / n, cpuMaxPct: Math.max(...pct), msgsIn: msgs.reduce((a, b) => a + b, 0) / n, kinds,
      writeMs, claimP50: percentile(c.latencies, 50), claimP99: percentile(c.latencies, 99), claims: c.latencies.length, claimCpuMs: c.cpuPerClaimMs, doubleConfirmed: c.doubleConfirmed, falseSuspicions,
      deadMs: dead.ms, leaderMs, load
    }
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
  const cols: Array<[string, (r: Row) => string]> = [
    ['nodes', r => String(r.n)],
    ['formed s', r => r.formS.toFixed(1)],
    ['idle CPU %/node', r => r.cpuPct.toFixed(1)],
    ['max %', r => r.cpuMaxPct.toFixed(1)],
    ['msgs in/s/node', r => r.msgsIn.toFixed(1)],
    ['write spread ms', r => r.writeMs.toFixed(0)],
    ['dead seen s', r => (r.deadMs / 1000).toFixed(1)],
    ['leader replaced s', r => (r.leaderMs / 1000).toFixed(1)],
    ['claim->confirmed p50/p99 ms', r => `${r.claimP50.toFixed(0)} / ${r.claimP99.toFixed(0)} (${r.claims})`],
    ['cluster CPU ms/claim', r => r.claimCpuMs.toFixed(0)],
    ['false suspicions', r => String(r.falseSuspicions)],
    ['load avg (idle end)', r => r.load]
  ]
  const widths = cols.map(([h, f]) => Math.max(h.length, ...rows.map(r => f(r).length)))
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i] as number)).join('  ')
  const out = [
    `bench:nodes  ${machineLine()}  (idle window ${IDLE_S} s, loopback${process.env.BENCH_ENTRY === undefined ? '' : `, entry ${process.env.BENCH_ENTRY}`})`,
    line(cols.map(([h]) => h)),
    ...rows.map(r => line(cols.map(([, f]) => f(r))))
  ]
  for (const r of rows) {
    const kinds = Object.entries(r.kinds).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(2)}`)
    if (kinds.length > 0) out.push(`${r.n} nodes, idle frames in/s/node by kind: ${kinds.join(', ')}`)
    if (r.doubleConfirmed > 0) out.push(`${r.n} nodes: ${r.doubleConfirmed} task attempts CONFIRMED TWICE`)
  }
  process.stdout.write(out.join('\n') + '\n')
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`bench:nodes failed: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
