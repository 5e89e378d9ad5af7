import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

/**
 * Summarizes a V8 .cpuprofile (`node --cpu-prof`, or the inspector's Profiler) by self time per
 * package / fleet file and per function, and by inclusive time per package (a sample counts once
 * for every package on its stack: "time spent in or under libp2p"). Only the main thread is
 * sampled: background compilation (wasm tier-up, concurrent TurboFan) and GC helper threads do
 * not appear, so compare the total with the process's CPU time from /proc.
 *
 *   node dist/scripts/lib/cpu-profile.js <file.cpuprofile> [top N] [last seconds]
 *
 * With `last seconds`, only the profile's last seconds count (bench:nodes' BENCH_CPU_PROF stops the
 * profiled node right after its idle window, so its profile ends with it).
 */

interface CallFrame { functionName: string, url: string, lineNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame, children?: number[] }
export interface CpuProfile { nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }

export interface ProfileSummary {
  /** Sampled time not idle, ms. */
  busyMs: number
  idleMs: number
  /** [name, ms] sorted by ms, descending. */
  selfByModule: Array<[string, number]>
  inclusiveByModule: Array<[string, number]>
  selfByFunction: Array<[string, number]>
  /** Inclusive time of fleet's own functions (what a composition step costs with its callees). */
  inclusiveByFleetFunction: Array<[string, number]>
}

/** The package (node_modules/<pkg> or @scope/pkg), fleet file, Node internal or V8 pseudo-frame a frame belongs to. */
export function moduleOf (frame: CallFrame): string {
  const url = frame.url
  if (url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)'
  if (url.startsWith('node:')) return 'node:internal'
  const nm = url.lastIndexOf('/node_modules/')
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/')
    return rest[0]?.startsWith('@') === true ? `${rest[0]}/${rest[1] ?? ''}` : rest[0] ?? url
  }
  const dist = url.lastIndexOf('/dist/')
  return dist >= 0 ? `fleet:${url.slice(dist + '/dist/'.length)}` : url
}

function fnName (frame: CallFrame): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName
  return frame.url === '' ? name : `${name} ${moduleOf(frame)}:${frame.lineNumber + 1}`
}

function sorted (m: Map<string, number>): Array<[string, number]> {
  return [...m.entries()].sort((a, b) => b[1] - a[1])
}

export function summarizeProfile (p: CpuProfile, opts: { lastMs?: number } = {}): ProfileSummary {
  const from = opts.lastMs === undefined ? -Infinity : p.endTime - opts.lastMs * 1000
  let at = p.startTime
  const byId = new Map(p.nodes.map(n => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const selfMod = new Map<string, number>()
  const inclMod = new Map<string, number>()
  const selfFn = new Map<string, number>()
  const inclFleet = new Map<string, number>()
  let busy = 0
  let idle = 0
  const add = (m: Map<string, number>, k: string, ms: number): void => { m.set(k, (m.get(k) ?? 0) + ms) }
  for (let i = 0; i < p.samples.length; i++) {
    // A sample stands for the interval up to the next one (the last one for its own delta).
    const ms = (p.timeDeltas[i + 1] ?? p.timeDeltas[i] ?? 0) / 1000
    at += p.timeDeltas[i] ?? 0
    if (at <= from) continue
    const leaf = byId.get(p.samples[i] as number)
    if (leaf === undefined) continue
    if (leaf.callFrame.functionName === '(idle)') { idle += ms; continue }
    busy += ms
    add(selfMod, moduleOf(leaf.callFrame), ms)
    add(selfFn, fnName(leaf.callFrame), ms)
    const mods = new Set<string>()
    const fleetFns = new Set<string>()
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const frame = (byId.get(id) as ProfileNode).callFrame
      const mod = moduleOf(frame)
      mods.add(mod)
      if (mod.startsWith('fleet:')) fleetFns.add(fnName(frame))
    }
    for (const m of mods) add(inclMod, m, ms)
    for (const f of fleetFns) add(inclFleet, f, ms)
  }
  return { busyMs: busy, idleMs: idle, selfByModule: sorted(selfMod), inclusiveByModule: sorted(inclMod), selfByFunction: sorted(selfFn), inclusiveByFleetFunction: sorted(inclFleet) }
}

export function formatSummary (s: ProfileSummary, top = 25): string {
  const table = (title: string, rows: Array<[string, number]>): string =>
    `${title}\n${rows.slice(0, top).map(([k, ms]) => `  ${ms.toFixed(0).padStart(7)} ms ${(100 * ms / s.busyMs).toFixed(1).padStart(5)} %  ${k}`).join('\n')}`
  return [
    `busy ${s.busyMs.toFixed(0)} ms (idle ${s.idleMs.toFixed(0)} ms), main thread only`,
    table('self time by module', s.selfByModule),
    table('inclusive time by module (a sample counts once per module on its stack)', s.inclusiveByModule),
    table('self time by function', s.selfByFunction),
    table('inclusive time of fleet functions', s.inclusiveByFleetFunction)
  ].join('\n\n')
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2]
  if (file === undefined) {
    process.stderr.write('usage: node dist/scripts/lib/cpu-profile.js <file.cpuprofile> [top N] [last seconds]\n')
    process.exit(2)
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const last = process.argv[4]
  process.stdout.write(formatSummary(summarizeProfile(profile, last === undefined ? {} : { lastMs: Number(last) * 1000 }), Number(process.argv[3] ?? 25)) + '\n')
}
