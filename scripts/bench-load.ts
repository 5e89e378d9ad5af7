import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { inChild, type ALoadCost, type NodeLoadCost, type ReplicaInfo } from './lib/load-cost.js'
import { machineLine, percentile } from './lib/stats.js'

/**
 * bench:load — the restart of a node holding a large replica (issue 11: load of a 100k-task
 * replica < 2 s). For each size (BENCH_SIZES, default 10000,100000 tasks of the bench:plan shape)
 * a replica is imported once into a LevelDB store, then, BENCH_RUNS times (default 3), each in a
 * fresh process: Automerge's load of the stored bytes alone, and the node's own load
 * (DocStore.open) followed by the projection's first full build, with the peak RSS.
 * BENCH_BASELINE=<another build's root (the directory holding dist/)> alternates that build with
 * this one, run for run, so both see the same load; the replica is made once, by this build.
 * BENCH_CPU_PROF=DIR profiles the node loads (summarize: node dist/scripts/lib/cpu-profile.js FILE).
 * BENCH_REPLICAS=DIR keeps the replicas there and reuses them on the next run (a 100k-task import
 * takes minutes on 2 cores).
 */
const SIZES = (process.env.BENCH_SIZES ?? '10000,100000').split(',').map(Number)
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const BASELINE = process.env.BENCH_BASELINE
const PROF_DIR = process.env.BENCH_CPU_PROF
const KEEP = process.env.BENCH_REPLICAS

interface Build { name: string, dist: string, open: number[], projection: number[], total: number[], rss: number[] }

function fmt (v: number): string {
  return v >= 100 ? v.toFixed(0) : v.toFixed(1)
}

async function main (): Promise<void> {
  const here = resolve(dirname(fileURLToPath(import.meta.url)), '..')
  const lines = [`bench:load  ${machineLine()}; ${RUNS} runs per build and size, alternating builds`]
  lines.push('| build | tasks | A.load ms p50 | open ms p50 (min-max) | full build ms p50 (min-max) | open + build ms p50 | peak RSS MB | load avg |')
  lines.push('|---|---|---|---|---|---|---|---|')
  const ratios: string[] = []
  for (const tasks of SIZES) {
    const dir = KEEP === undefined ? mkdtempSync(join(tmpdir(), `fleet-bench-load-${tasks}-`)) : resolve(KEEP, `tasks-${tasks}`)
    try {
      if (KEEP === undefined || !existsSync(join(dir, 'db'))) {
        mkdirSync(dir, { recursive: true })
        const info = await inChild<ReplicaInfo>([], ['make', here, dir, String(tasks)])
        process.stderr.write(`bench:load: ${tasks} tasks imported in ${fmt(info.importMs)} ms, stored ${info.bytes} bytes in ${info.chunks} chunks + snapshot\n`)
      }
      const builds: Build[] = [
        ...(BASELINE === undefined ? [] : [{ name: 'before', dist: join(resolve(BASELINE), 'dist'), open: [], projection: [], total: [], rss: [] }]),
        { name: BASELINE === undefined ? 'this build' : 'after', dist: here, open: [], projection: [], total: [], rss: [] }
      ]
      const aload: number[] = []
      const load0 = loadavg()[0] ?? NaN
      for (let i = 0; i < RUNS; i++) {
        const a = await inChild<ALoadCost>([], ['aload', here, dir])
        aload.push(a.aloadMs)
        for (const b of i % 2 === 0 ? builds : [...builds].reverse()) {
          const prof: string[] = []
          if (PROF_DIR !== undefined) {
            const d = resolve(PROF_DIR, b.name.replace(/ /g, '-'))
            mkdirSync(d, { recursive: true })
            prof.push('--cpu-prof', '--cpu-prof-dir', d, '--cpu-prof-name', `load-${tasks}-${i}.cpuprofile`)
          }
          const c = await inChild<NodeLoadCost>(prof, ['node', b.dist, dir])
          if (c.tasks !== tasks) throw new Error(`${b.name} projected ${c.tasks} of ${tasks} tasks`)
          b.open.push(c.openMs)
          b.projection.push(c.projectionMs)
          b.total.push(c.openMs + c.projectionMs)
          b.rss.push(c.maxRssMb)
          process.stderr.write(`bench:load: ${tasks} ${b.name} run ${i}: A.load ${fmt(a.aloadMs)} ms, open ${fmt(c.openMs)} ms, full build ${fmt(c.projectionMs)} ms, peak RSS ${fmt(c.maxRssMb)} MB, load ${loadavg()[0]?.toFixed(1) ?? '?'}\n`)
        }
      }
      const load1 = loadavg()[0] ?? NaN
      const range = (xs: number[]): string => `${fmt(percentile(xs, 50))} (${fmt(percentile(xs, 0))}-${fmt(percentile(xs, 100))})`
      for (const b of builds) {
        lines.push(`| ${b.name} | ${tasks} | ${fmt(percentile(aload, 50))} | ${range(b.open)} | ${range(b.projection)} | ${fmt(percentile(b.total, 50))} | ${fmt(percentile(b.rss, 50))} | ${load0.toFixed(1)} -> ${load1.toFixed(1)} |`)
      }
      const [base, self] = builds
      if (BASELINE !== undefined && base !== undefined && self !== undefined) {
        const r = (f: (b: Build) => number[]): string => (percentile(f(self), 50) / percentile(f(base), 50)).toFixed(2)
        ratios.push(`${tasks} tasks, after / before (p50): open ${r(b => b.open)}x, full build ${r(b => b.projection)}x, open + build ${r(b => b.total)}x, peak RSS ${r(b => b.rss)}x`)
      }
    } finally {
      if (KEEP === undefined) rmSync(dir, { recursive: true, force: true })
    }
  }
  process.stdout.write([...lines, ...ratios].join('\n') + '\n')
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`bench:load failed: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
