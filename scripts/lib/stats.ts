import { availableParallelism } from 'node:os'
import { percentileOfSorted } from '../../plan/stats.js'

/** Percentile of a sample (nearest rank); NaN for an empty sample. */
export function percentile (values: number[], p: number): number {
  return percentileOfSorted([...values].sort((a, b) => a - b), p) ?? NaN
}

/** Resident set size of a process in MB, from /proc (Linux). */
export async function rssMb (pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises')
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const m = /VmRSS:\s+(\d+) kB/.exec(status)
  return m === null ? NaN : Number(m[1]) / 1024
}

export function machineLine (): string {
  return `${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${availableParallelism()} cores`
}

/** CPU time (user + system) a process has used so far, in ms, from /proc (Linux). */
export async function cpuMs (pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises')
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // utime and stime are fields 14 and 15 of the whole line, in clock ticks (100 per second here).
  return (Number(fields[11]) + Number(fields[12])) * 10
}
