import '../node/polyfill.js'
import { generatePlan } from './lib/generate-plan.js'
import { killAll, removeDir, startCluster, type StartedNode } from './lib/node-process.js'
import { machineLine } from './lib/stats.js'
import { waitFor } from './lib/wait.js'

/**
 * bench:receive — what a node RECEIVING a large plan import costs (issue 11: a node receiving a
 * 100k-task plan over gossip and sync reached 2.3 GB of RSS while the importer stayed at 0.6 GB).
 * Two nodes; BENCH_TASKS (default 50,000) imported over HTTP on the first; the second's RSS is
 * sampled until it holds the plan. Prints both nodes' peak RSS (VmHWM) and RSS at the end, and
 * the time until the receiver holds the plan. BENCH_ENTRY=<a build's dist/node/cli/main.js> runs
 * another build; BENCH_NODE_ARGS (space-separated) are given to node for the receiver (e.g.
 * --heap-prof).
 */
const TASKS = Number(process.env.BENCH_TASKS ?? 50_000)
const ENTRY = process.env.BENCH_ENTRY
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS ?? 600_000)

async function memMb (pid: number): Promise<{ rss: number, hwm: number }> {
  const { readFile } = await import('node:fs/promises')
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') }
}

/** V8 heap used and external memory (WebAssembly memory counts there), MB, from /metrics. */
async function heapMb (n: StartedNode): Promise<{ heap: number, external: number }> {
  const text = await (await fetch(n.url + '/metrics')).text()
  const v = (k: string): number => Number(new RegExp(`^fleet_${k} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) / 1048576
  return { heap: v('nodejs_heap_size_used_bytes'), external: v('nodejs_external_memory_bytes') }
}

/** The receiver's largest mappings by resident size (BENCH_SMAPS=1): tells WebAssembly memory (one huge reservation) from malloc arenas. */
async function topMappings (pid: number): Promise<string[]> {
  const { readFile } = await import('node:fs/promises')
  const text = await readFile(`/proc/${pid}/smaps`, 'utf8')
  const maps: Array<{ head: string, rssKb: number, sizeKb: number }> = []
  for (const line of text.split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) maps.push({ head: line, rssKb: 0, sizeKb: 0 })
    const m = /^(Rss|Size):\s+(\d+) kB/.exec(line)
    const cur = maps[maps.length - 1]
    if (m !== null && cur !== undefined) { if (m[1] === 'Rss') cur.rssKb = Number(m[2]); else cur.sizeKb = Number(m[2]) }
  }
  return maps.sort((a, b) => b.rssKb - a.rssKb).slice(0, 8).map(m => `${Math.round(m.rssKb / 1024)} MB resident of ${Math.round(m.sizeKb / 1024)} MB: ${m.head}`)
}

/** POST without a deadline: fetch gives up after 300 s without response headers, and a 100k import on a loaded machine takes longer. */
async function postLong (url: string, body: string): Promise<{ status: number, body: string }> {
  const { request } = await import('node:http')
  return await new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (d: Buffer) => parts.push(d))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() }) })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function heads (n: StartedNode): Promise<string> {
  const r = await fetch(n.url + '/health')
  return ((await r.json() as { heads: string[] }).heads).join()
}

async function main (): Promise<void> {
  const nodes = await startCluster(2, { startTimeoutMs: 180_000, ...(ENTRY === undefined ? {} : { entry: ENTRY }) }, 120_000)
  const [importer, receiver] = nodes as [StartedNode, StartedNode]
  try {
    const before = await memMb(receiver.proc.pid ?? 0)
    const body = JSON.stringify({ plan: generatePlan(TASKS) })
    const t0 = performance.now()
    // Sampled during the import too: the receiver's peak comes while the plan arrives.
    const timeline: string[] = []
    let peakHeap = 0
    let peakExternal = 0
    let peakSeen = 0
    let peakMaps: string[] = []
    const sampler = setInterval(() => {
      heapMb(receiver).then(async (m) => {
        peakHeap = Math.max(peakHeap, m.heap)
        peakExternal = Math.max(peakExternal, m.external)
        if (process.env.BENCH_SMAPS === '1') {
          const now = (await memMb(receiver.proc.pid ?? 0)).rss
          if (now > peakSeen) { peakSeen = now; peakMaps = await topMappings(receiver.proc.pid ?? 0) }
        }
        if (process.env.BENCH_TIMELINE === '1') timeline.push(`${Math.round(performance.now() - t0)}ms rss ${Math.round((await memMb(receiver.proc.pid ?? 0)).rss)} heap ${Math.round(m.heap)} ext ${Math.round(m.external)}`)
      }).catch(() => undefined)
    }, 500)
    if (process.env.BENCH_TIMELINE === '1') process.stdout.write(`import starts at ${Date.now()}\n`)
    const res = await postLong(importer.url + '/api/plan/import', body)
    const out = JSON.parse(res.body) as { heads: string[], totalTasks: number }
    if (res.status !== 200 || out.totalTasks !== TASKS) throw new Error(`import failed: ${res.status} ${res.body.slice(0, 300)}`)
    const importMs = performance.now() - t0
    const want = out.heads.join()
    await waitFor(async () => await heads(receiver) === want, 'the receiver to hold the plan', TIMEOUT_MS, 100)
    clearInterval(sampler)
    const receivedMs = performance.now() - t0
    const r = await memMb(receiver.proc.pid ?? 0)
    const i = await memMb(importer.proc.pid ?? 0)
    const row = { tasks: TASKS, importMs: Math.round(importMs), receivedMs: Math.round(receivedMs), receiverBeforeMb: Math.round(before.rss), receiverPeakMb: Math.round(r.hwm), receiverEndMb: Math.round(r.rss), receiverPeakHeapMb: Math.round(peakHeap), receiverPeakExternalMb: Math.round(peakExternal), importerPeakMb: Math.round(i.hwm), importerEndMb: Math.round(i.rss) }
    if (timeline.length > 0) process.stdout.write(timeline.join('\n') + '\n')
    if (process.env.BENCH_SMAPS === '1') process.stdout.write(`at the receiver's peak (${Math.round(peakSeen)} MB):\n${peakMaps.join('\n')}\nat the end:\n${(await topMappings(receiver.proc.pid ?? 0)).join('\n')}\n`)
    if (process.env.BENCH_LOG_GREP !== undefined) {
      const re = new RegExp(process.env.BENCH_LOG_GREP)
      for (const [name, n] of [['importer', importer], ['receiver', receiver]] as const) {
        const hits = [...n.stdout, ...n.stderr].filter(l => re.test(l))
        process.stdout.write(`${name}: ${hits.length} log lines match; last: ${hits.slice(-3).join(' | ')}\n`)
      }
    }
    process.stdout.write(`bench:receive ${machineLine()} ${ENTRY ?? 'this build'}\n${JSON.stringify(row)}\n`)
  } finally {
    await killAll()
    if (process.env.BENCH_KEEP === '1') process.stdout.write(`kept: ${nodes.map(n => n.dataDir).join(" ")}\n`)
    else for (const n of nodes) removeDir(n.dataDir)
  }
}

main().then(() => process.exit(0), async (err: unknown) => {
  await killAll()
  process.stderr.write(`bench:receive failed: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
