import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, resolveStartConfig } from '../../../node/config.js'
import { resolveAgentConfig } from '../../../node/agents/agent-config.js'
import { START_USAGE } from '../../../node/cli/start.js'
import { AGENT_USAGE } from '../../../node/cli/agent.js'
import { START_OPTIONS } from '../../../node/options/start-options.js'
import { AGENT_OPTIONS } from '../../../node/options/agent-options.js'
import { flagOf, parseArgsOptions, rawFromArgs } from '../../../node/options/table.js'
import { parseCommandArgs } from '../../../node/cli/args.js'
import { CliError } from '../../../node/cli/errors.js'

describe('option tables (fleet start, fleet agent)', () => {
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'fleet-opts-')) })
  afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

  it('documents every option in --help with its flag and environment variable', () => {
    for (const [table, usage] of [[START_OPTIONS, START_USAGE], [AGENT_OPTIONS, AGENT_USAGE]] as const) {
      const flat = usage.replace(/\s+/g, ' ')
      for (const [name, spec] of Object.entries(table)) {
        assert.ok(flat.includes(`${flagOf(name)}`), `${flagOf(name)} missing from --help`)
        assert.ok(flat.includes(spec.env), `${spec.env} missing from --help`)
      }
      assert.ok(flat.includes('--config FILE'))
    }
  })

  it('declares the options fleet start and fleet agent share once (same env, same validation)', () => {
    for (const name of ['agent', 'repo', 'remote', 'main', 'executor', 'executorTimeout', 'apiTokenFile', 'logLevel'] as const) {
      assert.equal(START_OPTIONS[name].env, AGENT_OPTIONS[name].env, name)
      assert.equal(START_OPTIONS[name].schema, AGENT_OPTIONS[name].schema, name)
    }
  })

  it('gives the same value from a flag, the environment and the config file, flag first', () => {
    const args = parseCommandArgs('start', ['--executor-timeout', '2.5', '--repo', '/r', '--keep-branches', '--listen', '/ip4/127.0.0.1/tcp/0', '--listen', '/ip4/127.0.0.1/tcp/1'], parseArgsOptions(START_OPTIONS))
    const fromFlags = resolveStartConfig(rawFromArgs(START_OPTIONS, args.values), {})
    assert.equal(fromFlags.work?.executorTimeoutMs, 2500)
    assert.equal(fromFlags.work?.keepBranches, true)
    assert.deepEqual(fromFlags.listen, ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/1'])
    const env = { FLEET_EXECUTOR_TIMEOUT: '3', FLEET_REPO: '/r', FLEET_KEEP_BRANCHES: '1', FLEET_LISTEN: '/ip4/127.0.0.1/tcp/2,/ip4/127.0.0.1/tcp/3' }
    const fromEnv = resolveStartConfig({}, env)
    assert.equal(fromEnv.work?.executorTimeoutMs, 3000)
    assert.equal(fromEnv.work?.keepBranches, true)
    assert.deepEqual(fromEnv.listen, ['/ip4/127.0.0.1/tcp/2', '/ip4/127.0.0.1/tcp/3'])
    const file = join(dir, 'fleet.yaml')
    writeFileSync(file, 'executorTimeout: 4\nrepo: /r\nkeepBranches: true\nlisten: [/ip4/127.0.0.1/tcp/4]\n')
    const fromFile = resolveStartConfig({}, {}, file)
    assert.equal(fromFile.work?.executorTimeoutMs, 4000)
    assert.deepEqual(fromFile.listen, ['/ip4/127.0.0.1/tcp/4'])
    assert.equal(resolveStartConfig({ executorTimeout: '5' }, env, file).work?.executorTimeoutMs, 5000)
    const agentFile = join(dir, 'agent.json')
    writeFileSync(agentFile, JSON.stringify({ node: ['http://n:1'], agent: ['A:dev'], repo: '/r', executorTimeout: 6 }))
    assert.equal(resolveAgentConfig({}, {}, agentFile).executorTimeoutMs, 6000)
  })

  it('refuses an unknown flag, an unknown config key and a bad value, naming each', () => {
    assert.throws(() => parseCommandArgs('start', ['--nope'], parseArgsOptions(START_OPTIONS)), (err: unknown) => err instanceof CliError && /--nope/.test(err.message))
    const file = join(dir, 'bad.yaml')
    writeFileSync(file, 'executor_timeout: 4\n')
    assert.throws(() => resolveStartConfig({}, {}, file), (err: unknown) => err instanceof ConfigError && err.option === `executor_timeout in ${file}`)
    assert.throws(() => resolveStartConfig({}, { FLEET_FSYNC: 'maybe' }), (err: unknown) => err instanceof ConfigError && err.option === 'FLEET_FSYNC')
    assert.throws(() => resolveStartConfig({ lease: 'abc' }, {}), (err: unknown) => err instanceof ConfigError && err.message === 'invalid --lease: must be a number of seconds')
  })
})
