import '../node/polyfill.js'
import { mkdirSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { CLI_ENTRY, killNode, removeDir, startNode } from './lib/node-process.js'
import { cpuMs, machineLine, percentile } from './lib/stats.js'

/**
 * bench:start — what starting one node costs: `fleet start` on a fresh data dir, spawned as the
 * tests and bench:nodes spawn it (scripts/lib/node-process.ts), until it prints its HTTP URL; the
 * process's CPU time (user + system, all threads, from /proc) at that moment and the wall time.
 * A node's start dominates cluster formation on a small machine (16 nodes, 2 cores).
 * BENCH_RUNS (default 6) runs per build; BENCH_BASELINE=<another build's dist/node/cli/main.js>
 * alternates that build with this one, run for run, so both see the same load. BENCH_CPU_PROF=DIR
 * adds `--cpu-prof` (summarize with `node dist/scripts/lib/cpu-profile.js FILE`).
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 6)
const BASELINE = process.env.BENCH_BASELINE
const PROF_DIR = process.env.BENCH_CPU_PROF

interface Build { name: string, entry: string, cpu: number[], wall: number[] }

async function once (build: Build, run: number): Promise<void> {
  const nodeArgs: string[] = []
  if (PROF_DIR !== undefined) {
    const dir = resolve(PROF_DIR, build.name)
    mkdirSync(dir, { recursive: true })
    nodeArgs.push('--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', `start-${run}.cpuprofile`)
  }
  const t0 = performance.now()
  const node = await startNode({ entry: build.entry, nodeArgs, startTimeoutMs: 120_000 })
  const wall = performance.now() - t0
  const cpu = await cpuMs(node.proc.pid as number)
  // A graceful stop, so that --cpu-prof writes its profile.
  await killNode(node, 'SIGTERM')
  removeDir(node.dataDir)
  build.cpu.push(cpu / 1000)
  build.wall.push(wall / 1000)
  process.stderr.write(`bench:start: ${build.name} run ${run}: ${(cpu / 1000).toFixed(2)} CPU s, ${(wall / 1000).toFixed(2)} s wall, load ${loadavg()[0]?.toFixed(1) ?? '?'}\n`)
}

async function main (): Promise<void> {
  const builds: Build[] = [
    ...(BASELINE === undefined ? [] : [{ name: 'baseline', entry: BASELINE, cpu: [], wall: [] }]),
    { name: 'this build', entry: CLI_ENTRY, cpu: [], wall: [] }
  ]
  const load0 = loadavg()[0] ?? NaN
  for (let i = 0; i < RUNS; i++) {
    // Alternate which build goes first, so neither always follows the other.
    for (const b of i % 2 === 0 ? builds : [...builds].reverse()) await once(b, i)
  }
  const load1 = loadavg()[0] ?? NaN
  const pad = (s: string, w: number): string => s.padStart(w)
  const f = (xs: number[], p: number): string => percentile(xs, p).toFixed(2)
  const lines = [
    `bench:start  ${machineLine()}  (${RUNS} runs per build, load average ${load0.toFixed(1)} -> ${load1.toFixed(1)})`,
    `${'build'.padEnd(11)} ${pad('CPU s p50', 10)} ${pad('min', 6)} ${pad('max', 6)} ${pad('wall s p50', 11)} ${pad('min', 6)} ${pad('max', 6)}`,
    ...builds.map(b => `${b.name.padEnd(11)} ${pad(f(b.cpu, 50), 10)} ${pad(f(b.cpu, 0), 6)} ${pad(f(b.cpu, 100), 6)} ${pad(f(b.wall, 50), 11)} ${pad(f(b.wall, 0), 6)} ${pad(f(b.wall, 100), 6)}`)
  ]
  const [base, self] = builds
  if (BASELINE !== undefined && base !== undefined && self !== undefined) {
    lines.push(`ratio (this build / baseline): CPU ${(percentile(self.cpu, 50) / percentile(base.cpu, 50)).toFixed(2)}x, wall ${(percentile(self.wall, 50) / percentile(base.wall, 50)).toFixed(2)}x`)
  }
  if (PROF_DIR !== undefined) lines.push(`profiles: ${join(resolve(PROF_DIR), '<build>')}`)
  process.stdout.write(lines.join('\n') + '\n')
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`bench:start failed: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
