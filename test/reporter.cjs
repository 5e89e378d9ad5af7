// Mocha's spec reporter plus the 10 slowest tests and one plain closing line,
// "N passed, N failed[, N skipped]", which CI reads to know how many tests ran.
'use strict'
const Mocha = require('mocha')
const { EVENT_RUN_END, EVENT_TEST_PASS, EVENT_TEST_FAIL } = Mocha.Runner.constants

class FleetReporter extends Mocha.reporters.Spec {
  constructor (runner, options) {
    super(runner, options)
    const timed = []
    const record = (test) => { if (typeof test.duration === 'number') timed.push({ ms: test.duration, title: test.fullTitle(), file: test.file }) }
    runner.on(EVENT_TEST_PASS, record)
    runner.on(EVENT_TEST_FAIL, record)
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats
      const slow = timed.sort((a, b) => b.ms - a.ms).slice(0, 10)
      if (slow.length > 0) {
        process.stdout.write(`\nslowest tests (whole run ${((s.duration ?? 0) / 1000).toFixed(0)} s):\n`)
        for (const t of slow) process.stdout.write(`  ${(t.ms / 1000).toFixed(1).padStart(6)} s  ${t.title}\n`)
      }
      process.stdout.write(`\n${s.passes} passed, ${s.failures} failed, ${s.pending} skipped\n`)
    })
  }
}
module.exports = FleetReporter
