import assert from 'node:assert/strict'
import { join } from 'node:path'
import { silentLogger } from '../../../node/logger.js'
import { gitAt } from '../../../node/git/git.js'
import { MergeRunner } from '../../../node/git/merge-runner.js'
import type { GitRepo } from '../../../node/git/repo.js'
import { deleteMergedBranch } from '../../../node/git/tidy.js'
import { GitFixture } from './fixture.js'

describe('tidying merged branches', function () {
  this.timeout(30_000)
  let fx: GitFixture
  let lead: GitRepo
  beforeEach(async () => {
    fx = await GitFixture.create({ 'README.md': 'x\n' })
    lead = await fx.clone('leader')
  })
  afterEach(() => fx.cleanup())

  const remoteBranches = async (): Promise<string[]> => (await gitAt(fx.remote).raw(['branch', '--list', '--format=%(refname:short)'])).split('\n').filter(Boolean).sort()

  async function merge (branch: string, taskId: string, commit: string): Promise<void> {
    const out = await new MergeRunner({ repo: lead, scratchDir: join(lead.path, '..', 'merges'), logger: silentLogger() }).process({ id: `m-${taskId}`, taskId, branch, commit })
    assert.equal(out.state, 'merged')
  }

  it('deletes the merged commit\'s fleet/ branch, and only that', async () => {
    const tip = await fx.pushBranch('fleet/T1', { 'work/T1.md': 'T1\n' })
    await merge('fleet/T1', 'T1', tip)
    assert.equal(await deleteMergedBranch(lead, { id: 'm', taskId: 'T1', branch: 'fleet/T1', commit: tip }), 'deleted')
    assert.deepEqual(await remoteBranches(), ['main'])
    assert.equal(await deleteMergedBranch(lead, { id: 'm', taskId: 'T1', branch: 'fleet/T1', commit: tip }), 'gone', 'a second delete is harmless')
  })

  it('keeps a branch a newer attempt pushed since, branches outside fleet/, and unmerged tips', async () => {
    const first = await fx.pushBranch('fleet/T2', { 'work/T2.md': 'one\n' })
    await merge('fleet/T2', 'T2', first)
    await fx.pushBranch('fleet/T2', { 'work/T2.md': 'two\n' })
    assert.equal(await deleteMergedBranch(lead, { id: 'm', taskId: 'T2', branch: 'fleet/T2', commit: first }), 'kept')
    const feat = await fx.pushBranch('feat/x', { 'x.md': 'x\n' })
    await merge('feat/x', 'X', feat)
    assert.equal(await deleteMergedBranch(lead, { id: 'm', taskId: 'X', branch: 'feat/x', commit: feat }), 'kept')
    await fx.pushBranch('fleet/T3', { 'work/T3.md': 'T3\n' })
    assert.equal(await deleteMergedBranch(lead, { id: 'm', taskId: 'T3', branch: 'fleet/T3', commit: null }), 'kept', 'not on main: kept')
    assert.deepEqual(await remoteBranches(), ['feat/x', 'fleet/T2', 'fleet/T3', 'main'])
  })
})
