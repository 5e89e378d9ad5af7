import assert from 'node:assert/strict'
import { pino } from 'pino'
import { delayFigures, type DelayHistogram } from '../../../node/metrics/event-loop-delay.js'
import { FleetMetrics } from '../../../node/metrics/fleet-metrics.js'
import { DEFAULT_WATCHDOG_INTERVAL_MS, EventLoopWatchdog } from '../../../node/util/event-loop-watchdog.js'
import { waitFor } from '../../../scripts/lib/wait.js'

/**
 * fleet_nodejs_eventloop_lag_*_seconds say how late the loop ran, not how long a sampler waited:
 * prom-client's gauges exported Node's sampling intervals as they are, so an idle node showed a
 * lag of 0.1 s (its 100 ms interval) at min, p50 and max, and a block starting right after a
 * scrape was not recorded at all.
 */
describe('event-loop delay metrics', () => {
  function gauge (text: string, stat: string): number {
    const line = text.split('\n').find(l => l.startsWith(`fleet_nodejs_eventloop_lag_${stat}_seconds `))
    assert.ok(line !== undefined, `no fleet_nodejs_eventloop_lag_${stat}_seconds in the metrics`)
    return Number(line.split(' ')[1])
  }

  it('reads a histogram of nanoseconds as seconds, and no sample as no delay', () => {
    const ms = 1e6
    const h: DelayHistogram = {
      count: 20,
      min: 1,
      max: 250 * ms,
      mean: 12 * ms,
      stddev: 55 * ms,
      percentile: (p: number) => ({ 50: 0.5, 90: 1, 99: 250 } as Record<number, number>)[p] as number * ms,
      reset: () => {}
    }
    const f = delayFigures(h)
    assert.equal(f.max, 0.25)
    assert.equal(f.mean, 0.012)
    assert.equal(f.p50, 0.0005)
    assert.equal(f.p99, 0.25)
    assert.deepEqual(delayFigures({ ...h, count: 0, min: 9.2e18 }), { min: 0, max: 0, mean: 0, stddev: 0, p50: 0, p90: 0, p99: 0 })
  })

  it('an idle process shows next to no delay; a 300 ms block right after a scrape shows as about 300 ms', async function () {
    this.timeout(30_000)
    const watchdog = new EventLoopWatchdog({ logger: pino({ level: 'silent' }) })
    const metrics = new FleetMetrics({ eventLoopDelay: watchdog.delays })
    watchdog.start()
    try {
      // Scrapes further apart than the watchdog's interval, so each window holds samples.
      const idle = await waitFor(async () => { const t = await metrics.text(); return gauge(t, 'p50') < 0.05 && gauge(t, 'max') < 0.05 && gauge(t, 'max') > 0 ? t : false },
        'an idle window with samples, p50 and max under 50 ms (they read 0.1 s before)', 10_000, 3 * DEFAULT_WATCHDOG_INTERVAL_MS)
      assert.ok(gauge(idle, 'min') < 0.05)
      const until = Date.now() + 300
      while (Date.now() < until) { /* block the loop */ }
      const max = await waitFor(async () => { const m = gauge(await metrics.text(), 'max'); return m > 0 ? m : false }, 'the block to be recorded', 10_000, 3 * DEFAULT_WATCHDOG_INTERVAL_MS)
      assert.ok(max >= 0.2 && max < 0.3 + 0.1, `a 300 ms block read as ${max} s`)
    } finally {
      watchdog.stop()
      metrics.close()
    }
  })

  it('leaves out the delay gauges when nothing records delays, rather than report the sampling interval', async () => {
    const metrics = new FleetMetrics()
    try {
      const text = await metrics.text()
      assert.ok(!text.includes('fleet_nodejs_eventloop_lag_max_seconds'))
      assert.ok(text.includes('fleet_nodejs_eventloop_lag_seconds '), 'prom-client\'s own one-off lag stays')
    } finally {
      metrics.close()
    }
  })
})
