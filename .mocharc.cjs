// `npx mocha dist/test/x.test.js` runs just that file; with no test files named, the whole suite.
// (A JSON config's spec would be merged with the files named on the command line.) The scale test
// (dist/test/scale/*.scale.js) is not part of the suite: `npm run test:scale` names it.
const { readdirSync } = require('node:fs')
const named = process.argv.slice(2).some(a => /\.(test|scale)\.js$/.test(a))

// In parallel mode mocha hands the files to its workers in spec order. The longest files go
// first (longest-processing-time-first), so the run does not end with one worker still busy on
// a long file the other could have shared; the rest follow in path order. Measured on the 2-core
// VM (2026-11-30); a name missing here only loses its place at the front.
const LONGEST_FIRST = [
  'integration/fuzz', 'integration/faults', 'integration/partition', 'integration/analytics',
  'integration/pipeline', 'integration/claims', 'integration/bootstrap', 'integration/replication',
  'integration/restart', 'integration/security', 'integration/startup-errors', 'integration/contention',
  'integration/alerts', 'integration/observe', 'integration/multihost', 'integration/prometheus',
  'integration/remote-agent', 'integration/tls', 'integration/agent-tokens', 'unit/rules/claims.property'
].map(f => `dist/test/${f}.test.js`)

function suiteFiles () {
  const all = readdirSync('dist/test', { recursive: true })
    .filter(f => f.endsWith('.test.js')).map(f => `dist/test/${f}`).sort()
  return [...LONGEST_FIRST.filter(f => all.includes(f)), ...all.filter(f => !LONGEST_FIRST.includes(f))]
}

module.exports = {
  ...(named ? {} : { spec: suiteFiles() }),
  require: ['dist/test/setup.js'],
  timeout: 60000,
  reporter: './test/reporter.cjs',
  exit: true,
  // The whole suite runs its files two at a time (most multi-process tests wait on leases, terms
  // and liveness windows rather than CPU): about 10 minutes instead of 14 on 2 cores. A named
  // file runs alone, in this process.
  ...(named ? {} : { parallel: true, jobs: 2 }),
  // A stray .only must not silently shrink the suite; in CI nothing may be skipped either.
  forbidOnly: true,
  forbidPending: process.env.CI === 'true'
}
