import assert from 'node:assert/strict'
import { ConfigError, resolveStartConfig } from '../../../node/config.js'
import { heartbeatIntervalFor } from '../../../crdt/rules/leases.js'
import { coordinationProblems, DEFAULT_COORDINATION } from '../../../node/coord/settings.js'
import { runCli } from '../../../scripts/lib/node-process.js'

describe('coordination timing options', () => {
  const refused = (fn: () => unknown, option: string, reason: RegExp): void => {
    assert.throws(fn, (err: unknown) => err instanceof ConfigError && err.option === option && reason.test(err.reason), `expected ${option} to be refused with ${String(reason)}`)
  }

  it('accepts the defaults and the short timings the tests and the issue use', () => {
    assert.deepEqual(coordinationProblems(DEFAULT_COORDINATION), [])
    assert.deepEqual(resolveStartConfig({ lease: '5', term: '5', liveness: '3' }, {}).coordination, { leaseMs: 5000, termMs: 5000, livenessMs: 3000 })
    resolveStartConfig({ lease: '3', liveness: '2' }, {})
    resolveStartConfig({ term: '600', liveness: '2', lease: '5' }, {})
  })

  it('derives the agent heartbeat from the lease: at most a third of it, 30 s otherwise', () => {
    assert.equal(heartbeatIntervalFor(90_000), 30_000)
    assert.equal(heartbeatIntervalFor(5000), 1666)
    assert.equal(heartbeatIntervalFor(3600_000), 30_000)
    assert.ok(heartbeatIntervalFor(5000) * 3 <= 5000)
  })

  it('refuses a lease shorter than three presence intervals, naming the option as given', () => {
    refused(() => resolveStartConfig({ lease: '2' }, {}), '--lease', /at least 3 s/)
    refused(() => resolveStartConfig({}, { FLEET_LEASE: '1' }), 'FLEET_LEASE', /too short/)
  })

  it('refuses a liveness under two presence intervals', () => {
    refused(() => resolveStartConfig({ liveness: '1.5', term: '600' }, {}), '--liveness', /at least 2 s/)
  })

  it('refuses a term shorter than the liveness timeout, blaming the option that was set', () => {
    refused(() => resolveStartConfig({ term: '5' }, {}), '--term', /shorter than the liveness timeout \(10 s\)/)
    refused(() => resolveStartConfig({ liveness: '90' }, {}), '--liveness', /a term of 60 s is shorter/)
    refused(() => resolveStartConfig({ term: '4', liveness: '5' }, {}), '--term', /at least 5 s/)
  })

  it('fleet start exits 2 with one line for a combination that cannot work', async () => {
    const r = await runCli(['start', '--lease', '2', '--data', '/nonexistent/never-created', '--http', '127.0.0.1:0'])
    assert.equal(r.code, 2, r.stderr)
    const lines = r.stderr.trim().split('\n')
    assert.equal(lines.length, 1, r.stderr)
    assert.match(lines[0] ?? '', /^fleet: invalid --lease: 2 s is too short/)
  })
})
