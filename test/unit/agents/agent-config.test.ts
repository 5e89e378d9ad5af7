import assert from 'node:assert/strict'
import { resolveAgentConfig } from '../../../node/agents/agent-config.js'
import { ConfigError } from '../../../node/config.js'

describe('fleet agent options', () => {
  const base = { node: ['127.0.0.1:3000'], agent: ['A:backend'], repo: '/w/app' }

  it('reads several nodes, agents and the clone, with defaults', () => {
    const c = resolveAgentConfig({ ...base, node: ['http://10.0.0.1:3000/', 'https://n2:8443'], agent: ['A:backend', 'B:frontend'] }, {})
    assert.deepEqual(c.nodes, ['http://10.0.0.1:3000', 'https://n2:8443'])
    assert.deepEqual(c.agents, [{ name: 'A', role: 'backend' }, { name: 'B', role: 'frontend' }])
    assert.equal(c.executor, 'demo')
    assert.equal(c.token, null)
    assert.equal(c.data, './.fleet-agent')
  })

  it('takes FLEET_* variables (FLEET_NODE comma separated) over the seed worker\'s, and the command line over both', () => {
    const env = { FLEET_NODE: 'http://a:1, http://b:2', FLEET_AGENTS: 'X:dev', FLEET_REPO: '/r', ORCHESTRATOR_URL: 'http://seed:3000', AGENT_NAME: 'S', AGENT_ROLE: 'ops', REPO_PATH: '/seed' }
    const fromEnv = resolveAgentConfig({}, env)
    assert.deepEqual(fromEnv.nodes, ['http://a:1', 'http://b:2'])
    assert.deepEqual(fromEnv.agents, [{ name: 'X', role: 'dev' }])
    assert.equal(fromEnv.repo, '/r')
    const seed = resolveAgentConfig({}, { ORCHESTRATOR_URL: 'http://seed:3000', AGENT_NAME: 'S', AGENT_ROLE: 'ops', REPO_PATH: '/seed' })
    assert.deepEqual([seed.nodes, seed.agents, seed.repo], [['http://seed:3000'], [{ name: 'S', role: 'ops' }], '/seed'])
    assert.deepEqual(resolveAgentConfig({ node: ['http://cli:9'] }, env).nodes, ['http://cli:9'])
  })

  it('names the option at fault', () => {
    const bad: Array<[Parameters<typeof resolveAgentConfig>[0], NodeJS.ProcessEnv, RegExp]> = [
      [{ ...base, node: ['ftp://x'] }, {}, /^invalid --node: "ftp:\/\/x" is not a node URL/],
      [{ ...base, node: [] }, {}, /^invalid --node: give at least one/],
      [{ ...base, agent: ['nocolon'] }, {}, /^invalid --agent: "nocolon" is not NAME:ROLE/],
      [{ ...base, agent: [] }, { FLEET_AGENTS: 'A:Bad Role' }, /^invalid FLEET_AGENTS:/],
      [{ node: base.node, agent: base.agent }, {}, /^invalid --repo:/],
      [{ ...base, agent: [] }, { AGENT_NAME: 'A' }, /^invalid AGENT_NAME: AGENT_NAME and AGENT_ROLE go together/],
      [{ ...base, executorTimeout: '-3' } as Parameters<typeof resolveAgentConfig>[0], {}, /^invalid --executor-timeout: must be a positive number/],
      [{ ...base, apiTokenFile: '/nonexistent/token' }, {}, /^invalid --api-token-file: cannot read API token file/],
      [{ ...base, ca: '/nonexistent/ca.pem' }, {}, /^invalid --ca: cannot use CA file/],
      [base, { FLEET_API_TOKEN: 'short' }, /^invalid FLEET_API_TOKEN:/]
    ]
    for (const [cli, env, re] of bad) {
      assert.throws(() => resolveAgentConfig(cli, env), (err: unknown) => err instanceof ConfigError && re.test(err.message), `${JSON.stringify(cli)} ${JSON.stringify(env)}`)
    }
  })
})
