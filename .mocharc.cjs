// `npx mocha dist/test/x.test.js` runs just that file; with no test files named, the whole suite.
// (A JSON config's spec would be merged with the files named on the command line.) The scale test
// (dist/test/scale/*.scale.js) is not part of the suite: `npm run test:scale` names it.
const named = process.argv.slice(2).some(a => /\.(test|scale)\.js$/.test(a))
module.exports = {
  ...(named ? {} : { spec: ['dist/test/**/*.test.js'] }),
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
