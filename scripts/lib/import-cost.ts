import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { generatePlan } from './generate-plan.js'

/**
 * A plan import inside one node, without HTTP or peers, for a build's dist directory (this one or
 * a baseline's): parse and validate the plan body (part of the import for builds that take the
 * body's bytes: parseMs is 0 for them), import it through the real services into a
 * LevelDB store on disk (acknowledged = on disk), then the load of that replica from disk, and the
 * longest the event loop was blocked during the import (a 1 ms timer's largest gap).
 */

export interface ImportCost {
  parseMs: number
  importMs: number
  /** Longest event-loop block from the parse on, and from the end of the parse on (the import's own). */
  loopGapMs: number
  importLoopGapMs: number
  loadMs: number
  rssMb: number
  loadedChunks: number
  loadedBytes: number
}

/* eslint-disable @typescript-eslint/no-explicit-any -- two builds' modules, loaded by path */
export async function importCost (distRoot: string, tasks: number): Promise<ImportCost> {
  const at = async (p: string): Promise<any> => await import(pathToFileURL(join(distRoot, p)).href)
  const [{ DocStore }, { LevelChunkStore }, { createServices }, { DEFAULT_COORDINATION }, { silentLogger }] = await Promise.all([
    at('crdt/doc-store.js'), at('crdt/storage/level-chunk-store.js'), at('node/services/index.js'), at('node/coord/settings.js'), at('node/logger.js')
  ])
  const dir = mkdtempSync(join(tmpdir(), 'fleet-import-cost-'))
  try {
    const store = await DocStore.open({ storage: new LevelChunkStore({ path: join(dir, 'db') }), logger: silentLogger() })
    const s = createServices({ store, nodeId: 'bench', settings: DEFAULT_COORDINATION, livePeers: () => [] })
    const text = JSON.stringify({ plan: generatePlan(tasks) })
    // A build with importBody takes the request's bytes as HTTP gives them (parsed in the import,
    // in a worker when large); an older one a parsed body, parsed and validated first on the loop.
    const bytes = typeof s.plans.importBody === 'function' ? Buffer.from(text) : null
    const body = bytes === null ? JSON.parse(text) : null
    let gap = 0
    let last = performance.now()
    const timer = setInterval(() => { const t = performance.now(); gap = Math.max(gap, t - last); last = t }, 1)
    const t0 = performance.now()
    const plan = bytes === null ? s.plans.parse(body) : null
    const t1 = performance.now()
    const parseGap = Math.max(gap, t1 - last)
    gap = 0
    last = performance.now()
    const summary = bytes === null ? await s.plans.import(plan) : await s.plans.importBody(bytes)
    const t2 = performance.now()
    clearInterval(timer)
    const importGap = Math.max(gap, performance.now() - last)
    if (summary.totalTasks !== tasks) throw new Error(`imported ${String(summary.totalTasks)} of ${tasks}`)
    const rssMb = process.memoryUsage().rss / 1048576
    await store.close()
    const l0 = performance.now()
    const again = await DocStore.open({ storage: new LevelChunkStore({ path: join(dir, 'db') }), logger: silentLogger() })
    const loadMs = performance.now() - l0
    const { chunks: loadedChunks, bytes: loadedBytes } = again.loadStats as { chunks: number, bytes: number }
    await again.close()
    return { parseMs: t1 - t0, importMs: t2 - t1, loopGapMs: Math.max(parseGap, importGap), importLoopGapMs: importGap, loadMs, rssMb, loadedChunks, loadedBytes }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Runs importCost in a fresh process (clean heap and RSS per measurement). */
export async function importCostInChild (distRoot: string, tasks: number): Promise<ImportCost> {
  const { execFile } = await import('node:child_process')
  const { fileURLToPath } = await import('node:url')
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [fileURLToPath(import.meta.url), distRoot, String(tasks)], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`import-cost ${tasks}: ${err.message} ${stderr}`))
      else resolve(stdout)
    })
  })
  return JSON.parse(out) as ImportCost
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  importCost(process.argv[2] ?? '', Number(process.argv[3])).then((c) => {
    process.stdout.write(JSON.stringify(c) + '\n')
    process.exit(0)
  }, (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`)
    process.exit(1)
  })
}
