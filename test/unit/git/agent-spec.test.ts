import assert from 'node:assert/strict'
import { join } from 'node:path'
import { silentLogger } from '../../../node/logger.js'
import { AgentPool } from '../../../node/agents/pool.js'
import { AgentSpecError, parseAgentSpec, parseAgentSpecs } from '../../../node/agents/spec.js'
import { GitRepo, RepoError } from '../../../node/git/repo.js'
import { waitFor } from '../../../scripts/lib/wait.js'
import { FakeCoordinator } from './fake-coordinator.js'
import { GitFixture } from './fixture.js'

describe('--agent NAME:ROLE', () => {
  it('parses names and roles', () => {
    assert.deepEqual(parseAgentSpec('A:schemas'), { name: 'A', role: 'schemas' })
    assert.deepEqual(parseAgentSpec('agent-7:remaining_work'), { name: 'agent-7', role: 'remaining_work' })
  })

  it('says what is wrong with a bad value', () => {
    assert.throws(() => parseAgentSpec('A'), /"A" is not NAME:ROLE: missing ":"/)
    assert.throws(() => parseAgentSpec(':backend'), /NAME must be/)
    assert.throws(() => parseAgentSpec('a b:backend'), /NAME must be/)
    assert.throws(() => parseAgentSpec('A:Backend'), /ROLE must be a lowercase identifier/)
    assert.throws(() => parseAgentSpec('A:'), AgentSpecError)
    assert.throws(() => parseAgentSpecs(['A:x', 'A:y']), /agent name "A" given twice/)
  })
})

describe('agent pool', function () {
  this.timeout(30_000)
  let fx: GitFixture
  beforeEach(async () => { fx = await GitFixture.create() })
  afterEach(() => fx.cleanup())

  it('refuses to start on something that is not a clone', async () => {
    const pool = new AgentPool({ repo: new GitRepo({ path: fx.dir }), worktreeRoot: join(fx.dir, 'wt'), agents: [{ name: 'A', role: 'backend' }], executor: 'demo', coordinator: new FakeCoordinator(), logger: silentLogger() })
    await assert.rejects(pool.start(), RepoError)
  })

  it('runs its agents until stopped and reports their status', async () => {
    const coord = new FakeCoordinator()
    coord.addTask({ id: 'T1' })
    coord.addTask({ id: 'F1', role: 'frontend' })
    const pool = new AgentPool({
      repo: await fx.clone('node1'),
      worktreeRoot: join(fx.dir, 'wt'),
      agents: [{ name: 'A', role: 'backend' }, { name: 'B', role: 'frontend' }],
      executor: 'demo',
      coordinator: coord,
      logger: silentLogger(),
      worker: { idleMs: 20 }
    })
    await pool.start()
    try {
      await waitFor(() => coord.task('T1').status === 'review' && coord.task('F1').status === 'review', 'both agents to finish their role\'s task')
      await waitFor(() => pool.status().every(s => s.stats.completed === 1), 'both agents to count their task')
      assert.deepEqual(pool.status().map(s => [s.agentId, s.role]), [['A', 'backend'], ['B', 'frontend']])
    } finally {
      await pool.stop()
    }
    assert.ok(pool.status().every(s => s.phase === 'stopped'))
  })
})
