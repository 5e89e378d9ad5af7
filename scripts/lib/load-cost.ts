import * as A from '@automerge/automerge'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { generatePlan } from './generate-plan.js'

/**
 * What a node's restart with a large replica costs, in process, for a build's dist directory
 * (this one or a baseline's), each measurement in a fresh process (clean heap, honest peak RSS):
 *   - makeReplica: a plan of N tasks (the bench:plan shape) imported through the real services
 *     into a LevelDB store, closed as a node closes it (the store a restart finds);
 *   - 'aload': Automerge's load of the stored bytes alone;
 *   - 'node': DocStore.open on a copy of that store (read, load, migrations, the write after a
 *     load) and the services' first projection read (the full build), then the peak RSS.
 */

export interface ReplicaInfo { tasks: number, importMs: number, bytes: number, chunks: number }
export interface ALoadCost { readMs: number, aloadMs: number, bytes: number, chunks: number, maxRssMb: number }
export interface NodeLoadCost { openMs: number, projectionMs: number, tasks: number, maxRssMb: number }

/* eslint-disable @typescript-eslint/no-explicit-any -- two builds' modules, loaded by path */
async function modules (distRoot: string): Promise<any[]> {
  const at = async (p: string): Promise<any> => await import(pathToFileURL(join(distRoot, p)).href)
  return await Promise.all([at('crdt/doc-store.js'), at('crdt/storage/level-chunk-store.js'), at('node/services/index.js'), at('node/coord/settings.js'), at('node/logger.js')])
}

function maxRssMb (): number {
  return process.resourceUsage().maxRSS / 1024
}

export async function makeReplica (distRoot: string, tasks: number, dir: string): Promise<ReplicaInfo> {
  const [{ DocStore }, { LevelChunkStore }, { createServices }, { DEFAULT_COORDINATION }, { silentLogger }] = await modules(distRoot)
  const store = await DocStore.open({ storage: new LevelChunkStore({ path: join(dir, 'db') }), logger: silentLogger() })
  const s = createServices({ store, nodeId: 'bench', settings: DEFAULT_COORDINATION, livePeers: () => [] })
  const t0 = performance.now()
  const summary = await s.plans.import(s.plans.parse({ plan: generatePlan(tasks) }))
  const importMs = performance.now() - t0
  if (summary.totalTasks !== tasks) throw new Error(`imported ${String(summary.totalTasks)} of ${tasks}`)
  await store.close()
  const check = new LevelChunkStore({ path: join(dir, 'db') })
  await check.open()
  const stored = await check.load()
  await check.close()
  return { tasks, importMs, bytes: (stored.snapshot?.byteLength ?? 0) + stored.chunks.reduce((n: number, c: Uint8Array) => n + c.byteLength, 0), chunks: stored.chunks.length }
}

export async function aloadCost (distRoot: string, dir: string): Promise<ALoadCost> {
  const [, { LevelChunkStore }] = await modules(distRoot)
  const storage = new LevelChunkStore({ path: join(dir, 'db') })
  const t0 = performance.now()
  await storage.open()
  const stored = await storage.load()
  const t1 = performance.now()
  if (stored.snapshot === null) throw new Error('no snapshot stored')
  const doc = A.load(stored.snapshot)
  const aloadMs = performance.now() - t1
  await storage.close()
  if (A.getHeads(doc).length === 0) throw new Error('empty document')
  return { readMs: t1 - t0, aloadMs, bytes: stored.snapshot.byteLength, chunks: stored.chunks.length, maxRssMb: maxRssMb() }
}

export async function nodeLoadCost (distRoot: string, dir: string): Promise<NodeLoadCost> {
  const [{ DocStore }, { LevelChunkStore }, { createServices }, { DEFAULT_COORDINATION }, { silentLogger }] = await modules(distRoot)
  // DocStore.open may write (migrations, chunks folded in): a copy keeps the replica for the next run.
  const copy = mkdtempSync(join(tmpdir(), 'fleet-load-cost-'))
  try {
    cpSync(join(dir, 'db'), join(copy, 'db'), { recursive: true })
    const t0 = performance.now()
    const store = await DocStore.open({ storage: new LevelChunkStore({ path: join(copy, 'db') }), logger: silentLogger() })
    const s = createServices({ store, nodeId: 'bench', settings: DEFAULT_COORDINATION, livePeers: () => [] })
    const t1 = performance.now()
    const view = s.projection.get()
    const t2 = performance.now()
    const tasks = view.taskById.size as number
    const rss = maxRssMb()
    await store.close()
    return { openMs: t1 - t0, projectionMs: t2 - t1, tasks, maxRssMb: rss }
  } finally {
    rmSync(copy, { recursive: true, force: true })
  }
}

/** Runs one measurement in a fresh process; `nodeArgs` e.g. --cpu-prof. */
export async function inChild<T> (nodeArgs: string[], args: string[]): Promise<T> {
  const { execFile } = await import('node:child_process')
  const { fileURLToPath } = await import('node:url')
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [...nodeArgs, fileURLToPath(import.meta.url), ...args], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`load-cost ${args.join(' ')}: ${err.message} ${stderr}`))
      else resolve(stdout)
    })
  })
  return JSON.parse(out) as T
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [mode, distRoot, dir, tasks] = process.argv.slice(2) as [string, string, string, string | undefined]
  const run = mode === 'make'
    ? makeReplica(distRoot, Number(tasks), dir)
    : mode === 'aload' ? aloadCost(distRoot, dir) : nodeLoadCost(distRoot, dir)
  run.then((c) => {
    process.stdout.write(JSON.stringify(c) + '\n')
    process.exit(0)
  }, (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`)
    process.exit(1)
  })
}
