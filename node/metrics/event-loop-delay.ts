import type { RecordableHistogram } from 'node:perf_hooks'
import { Gauge, type Registry } from 'prom-client'

/**
 * The event-loop delay gauges prom-client's default metrics export
 * (`<prefix>nodejs_eventloop_lag_{min,max,mean,stddev,p50,p90,p99}_seconds`), read from the
 * watchdog's record of how late each of its checks fired (util/event-loop-watchdog.ts).
 *
 * prom-client reads Node's monitorEventLoopDelay, which records the whole time between its
 * timer's firings, the sampling interval included, and exports it as it is: with the 100 ms
 * interval fleet sampled at (for the idle CPU), an idle node reported a lag of 0.1 s at min, p50
 * and max, and every benchmark's "loop lag max" was 100 ms more than the block it showed. It also
 * loses a block that starts within one interval after a scrape (the reset forgets the last
 * firing). The watchdog measures each check against its due time, so neither happens; the names
 * stay, so dashboards and alert rules need not change.
 */

export const EVENT_LOOP_DELAY_STATS = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'] as const
export type EventLoopDelayStat = typeof EVENT_LOOP_DELAY_STATS[number]

/** The figures of one read, in seconds. */
export type EventLoopDelayFigures = Record<EventLoopDelayStat, number>

/** The part of a histogram read here (a stub in tests). */
export type DelayHistogram = Pick<RecordableHistogram, 'min' | 'max' | 'mean' | 'stddev' | 'count' | 'percentile' | 'reset'>

/** A histogram of delays in nanoseconds as seconds; no sample since the last read reads as no delay. */
export function delayFigures (h: DelayHistogram): EventLoopDelayFigures {
  if (h.count === 0) return { min: 0, max: 0, mean: 0, stddev: 0, p50: 0, p90: 0, p99: 0 }
  return {
    min: h.min / 1e9,
    max: h.max / 1e9,
    mean: h.mean / 1e9,
    stddev: h.stddev / 1e9,
    p50: h.percentile(50) / 1e9,
    p90: h.percentile(90) / 1e9,
    p99: h.percentile(99) / 1e9
  }
}

const MEASURED = '(seconds late, of the watchdog check every 100 ms)'
const HELP: Record<EventLoopDelayStat, string> = {
  min: `The least event loop delay since the last scrape ${MEASURED}`,
  max: `The largest event loop delay since the last scrape ${MEASURED}`,
  mean: `The mean event loop delay since the last scrape ${MEASURED}`,
  stddev: 'The standard deviation of the event loop delays since the last scrape',
  p50: `The 50th percentile of the event loop delays since the last scrape ${MEASURED}`,
  p90: `The 90th percentile of the event loop delays since the last scrape ${MEASURED}`,
  p99: `The 99th percentile of the event loop delays since the last scrape ${MEASURED}`
}

/** The gauge names prom-client's default metrics give these figures under `prefix`. */
export function eventLoopDelayNames (prefix: string): string[] {
  return EVENT_LOOP_DELAY_STATS.map(s => `${prefix}nodejs_eventloop_lag_${s}_seconds`)
}

/**
 * Registers the delay gauges in `registry` (whose prom-client gauges of the same names must be
 * gone), reading `delays` and resetting it at every scrape, as prom-client did its own.
 */
export function registerEventLoopDelay (registry: Registry, prefix: string, delays: DelayHistogram): void {
  const gauges = new Map<EventLoopDelayStat, Gauge>()
  // The first gauge's collect sets them all, then resets the histogram, so every gauge shows the
  // same window: a scrape reads the metrics in registration order, each collect before its value.
  const collect = (): void => {
    const f = delayFigures(delays)
    for (const [s, g] of gauges) g.set(f[s])
    delays.reset()
  }
  const names = eventLoopDelayNames(prefix)
  EVENT_LOOP_DELAY_STATS.forEach((s, i) => {
    gauges.set(s, new Gauge({ name: names[i] as string, help: HELP[s], registers: [registry], ...(i === 0 ? { collect } : {}) }))
  })
}
