import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { silentLogger } from '../../../node/logger.js'
import { gitAt } from '../../../node/git/git.js'
import { MergeAbortedError, MergeRunner, isPushRejection, type MergeRunnerInit } from '../../../node/git/merge-runner.js'
import type { GitRepo } from '../../../node/git/repo.js'
import { waitFor } from '../../../scripts/lib/wait.js'
import { GitFixture } from './fixture.js'

describe('merge runner', function () {
  this.timeout(30_000)
  let fx: GitFixture
  let lead: GitRepo
  beforeEach(async () => {
    fx = await GitFixture.create({ 'README.md': 'line 1\n', 'shared.txt': 'base\n' })
    lead = await fx.clone('leader1')
  })
  afterEach(() => fx.cleanup())

  function runner (repo: GitRepo, extra: Partial<MergeRunnerInit> = {}): MergeRunner {
    return new MergeRunner({ repo, scratchDir: join(repo.path, '..', `${repo.path.split('/').pop() ?? 'x'}-merges`), logger: silentLogger(), ...extra })
  }

  /** Parents of a commit in the remote. */
  async function parents (sha: string): Promise<string[]> {
    return (await gitAt(fx.remote).raw(['rev-list', '--parents', '-n', '1', sha])).trim().split(' ').slice(1)
  }

  /** How many merge commits on main bring in `tip` as their second parent. */
  async function mergesOf (tip: string): Promise<number> {
    const lines = (await gitAt(fx.remote).raw(['rev-list', '--merges', '--parents', 'main'])).trim().split('\n').filter(Boolean)
    return lines.filter(l => l.split(' ')[2] === tip).length
  }

  it('merges a branch with a merge commit and pushes main as a fast-forward', async () => {
    const before = await fx.remoteMain()
    const tip = await fx.pushBranch('fleet/T1', { 'work/T1.md': 'T1\n' })
    const out = await runner(lead).process({ id: 'm1', taskId: 'T1', branch: 'fleet/T1', commit: tip })
    assert.equal(out.state, 'merged')
    assert.ok(out.state === 'merged' && !out.alreadyMerged)
    const main = await fx.remoteMain()
    assert.equal(out.state === 'merged' ? out.sha : '', main)
    assert.deepEqual(await parents(main), [before, tip])
    assert.deepEqual((await fx.mainFirstParents()).slice(0, 2), [main, before], 'main moved forward by one commit')
    assert.match((await fx.mainSubjects())[0] ?? '', /^Merge fleet\/T1: task T1$/)
    assert.equal(await fx.showMain('work/T1.md'), 'T1\n')
    assert.deepEqual(readdirSync(join(lead.path, '..', 'leader1-merges')), [], 'scratch worktree removed')
  })

  it('reports a branch already in main as merged without merging it again (the next leader after a crash)', async () => {
    const tip = await fx.pushBranch('fleet/T1', { 'work/T1.md': 'T1\n' })
    const first = await runner(lead).process({ id: 'm1', taskId: 'T1', branch: 'fleet/T1', commit: tip })
    // Another node's leader picks the same entry up (the first died before recording the result).
    const next = await fx.clone('leader2')
    const again = await runner(next).process({ id: 'm1', taskId: 'T1', branch: 'fleet/T1', commit: tip })
    assert.deepEqual(again, { state: 'merged', sha: await fx.remoteMain(), alreadyMerged: true, output: '' })
    assert.equal(first.state === 'merged' ? first.sha : '', await fx.remoteMain(), 'main did not move')
    assert.equal(await mergesOf(tip), 1)
    // Without a queued commit, the branch tip is what counts.
    const byTip = await runner(next).process({ id: 'm1', taskId: 'T1', branch: 'fleet/T1' })
    assert.equal(byTip.state === 'merged' && byTip.alreadyMerged, true)
  })

  it('merges a task once: a second attempt with another commit is ejected as a duplicate (Fleet-Task trailer), and similar ids are not confused', async () => {
    // The two sides of a partition both worked on T1.2 and pushed different commits.
    const first = await fx.pushBranch('fleet/T1.2', { 'work/T1.2-a.md': 'side A\n' })
    assert.equal((await runner(lead).process({ id: 'mA', taskId: 'T1.2', branch: 'fleet/T1.2', commit: first })).state, 'merged')
    const mainAfterFirst = await fx.remoteMain()
    const second = await fx.pushBranch('fleet/T1.2-b', { 'work/T1.2-b.md': 'side B\n' })
    const dup = await runner(lead).process({ id: 'mB', taskId: 'T1.2', branch: 'fleet/T1.2-b', commit: second })
    assert.equal(dup.state, 'ejected')
    assert.ok(dup.state === 'ejected' && dup.duplicate === true, 'not marked as a duplicate')
    assert.match(dup.state === 'ejected' ? dup.reason : '', /task T1\.2 is already on main \(merge [0-9a-f]{7}\); not merged twice/)
    assert.equal(await fx.remoteMain(), mainAfterFirst, 'main moved for a duplicate')
    // "T1x2" matches the pattern T1.2 only if the dot is not escaped; "T1" is a prefix of "T1.2".
    for (const taskId of ['T1x2', 'T1']) {
      const tip = await fx.pushBranch(`fleet/${taskId}`, { [`work/${taskId}.md`]: `${taskId}\n` })
      const out = await runner(lead).process({ id: `m-${taskId}`, taskId, branch: `fleet/${taskId}`, commit: tip })
      assert.equal(out.state, 'merged', `${taskId} was taken for T1.2: ${JSON.stringify(out)}`)
    }
  })

  it('ejects a conflicting branch with the conflicting files, leaving main alone', async () => {
    const tip = await fx.pushBranch('fleet/T2', { 'shared.txt': 'from the branch\n', 'other.txt': 'fine\n' })
    await fx.pushBranch('main', { 'shared.txt': 'main moved on\n' })
    const before = await fx.remoteMain()
    const out = await runner(lead).process({ id: 'm2', taskId: 'T2', branch: 'fleet/T2', commit: tip })
    assert.equal(out.state, 'ejected')
    if (out.state !== 'ejected') return
    assert.match(out.reason, /^merge conflict with main [0-9a-f]{7} in shared\.txt$/)
    assert.deepEqual(out.conflicts, ['shared.txt'])
    assert.match(out.output, /CONFLICT/)
    assert.equal(await fx.remoteMain(), before)
    assert.deepEqual(readdirSync(join(lead.path, '..', 'leader1-merges')), [])
  })

  it('runs the check on the merge result and ejects with its output when it fails', async () => {
    const tip = await fx.pushBranch('fleet/T3', { 'work/T3.md': 'T3\n' })
    const before = await fx.remoteMain()
    const failing = runner(lead, { check: 'test -f work/T3.md && echo "running 12 tests"; echo "lint: 2 errors" >&2; exit 1' })
    const out = await failing.process({ id: 'm3', taskId: 'T3', branch: 'fleet/T3', commit: tip })
    assert.equal(out.state, 'ejected')
    if (out.state !== 'ejected') return
    assert.match(out.reason, /^check failed: exit 1 after \d+ ms$/)
    assert.match(out.output, /running 12 tests\nlint: 2 errors/)
    assert.equal(await fx.remoteMain(), before, 'nothing pushed')

    const passing = runner(lead, { check: 'test "$FLEET_TASK_ID" = T3 && test "$FLEET_BRANCH" = fleet/T3 && test -f work/T3.md && echo ok' })
    const ok = await passing.process({ id: 'm3', taskId: 'T3', branch: 'fleet/T3', commit: tip })
    assert.equal(ok.state, 'merged')
    assert.equal(ok.state === 'merged' ? ok.output : '', 'ok')
  })

  it('ejects a check that times out', async () => {
    const tip = await fx.pushBranch('fleet/T4', { 'a.txt': 'a' })
    const out = await runner(lead, { check: 'sleep 20', checkTimeoutMs: 300 }).process({ id: 'm4', taskId: 'T4', branch: 'fleet/T4', commit: tip })
    assert.equal(out.state === 'ejected' ? out.reason : '', 'check failed: timed out after 300 ms')
  })

  it('ejects an entry whose branch was overwritten or is missing', async () => {
    const old = await fx.pushBranch('fleet/T5', { 'a.txt': 'first' })
    await fx.pushBranch('fleet/T5', { 'a.txt': 'second' })
    const out = await runner(lead).process({ id: 'm5', taskId: 'T5', branch: 'fleet/T5', commit: old })
    assert.match(out.state === 'ejected' ? out.reason : '', /overwritten by another attempt/)
    const missing = await runner(lead).process({ id: 'm6', taskId: 'T6', branch: 'fleet/T6', commit: old })
    assert.equal(missing.state === 'ejected' ? missing.reason : '', 'branch fleet/T6 not found on origin')
    const weird = await runner(lead).process({ id: 'm6', taskId: 'T6', branch: 'main:refs/heads/x', commit: old })
    assert.equal(weird.state === 'ejected' ? weird.reason : '', 'invalid branch name "main:refs/heads/x"')
  })

  it('stops when aborted mid-check, pushing nothing', async () => {
    const tip = await fx.pushBranch('fleet/T7', { 'a.txt': 'a' })
    const before = await fx.remoteMain()
    const ac = new AbortController()
    const started = join(fx.dir, 'check-started')
    const run = runner(lead, { check: `touch ${started} && sleep 20` }).process({ id: 'm7', taskId: 'T7', branch: 'fleet/T7', commit: tip }, ac.signal)
    await waitFor(() => existsSync(started), 'the check to start')
    ac.abort()
    await assert.rejects(run, MergeAbortedError)
    assert.equal(await fx.remoteMain(), before)
    assert.equal(existsSync(join(lead.path, '..', 'leader1-merges', 'm7')), false)
  })

  it('two racing leaders: one push is rejected, re-fetched and retried; main only moves forward; each branch merged once', async () => {
    const tipA = await fx.pushBranch('fleet/A', { 'work/A.md': 'A\n' })
    const tipB = await fx.pushBranch('fleet/B', { 'work/B.md': 'B\n' })
    const start = await fx.remoteMain()
    const barrier = join(fx.dir, 'barrier')
    mkdirSync(barrier)
    const runs = join(fx.dir, 'runs.log')
    // Both checks wait for each other, so both merges are built on the same main and pushed together.
    const check = `echo "$FLEET_MERGE_ENTRY_ID" >> ${runs}; touch ${barrier}/"$FLEET_MERGE_ENTRY_ID"; ` +
      `while [ "$(ls ${barrier} | wc -l)" -lt 2 ]; do sleep 0.05; done`
    const other = await fx.clone('leader2')
    const [a, b] = await Promise.all([
      runner(lead, { check, checkTimeoutMs: 15_000 }).process({ id: 'eA', taskId: 'A', branch: 'fleet/A', commit: tipA }),
      runner(other, { check, checkTimeoutMs: 15_000 }).process({ id: 'eB', taskId: 'B', branch: 'fleet/B', commit: tipB })
    ])
    assert.equal(a.state, 'merged')
    assert.equal(b.state, 'merged')
    assert.ok(a.state === 'merged' && !a.alreadyMerged && b.state === 'merged' && !b.alreadyMerged)
    const history = await fx.mainFirstParents()
    assert.equal(history.length, 3, 'two merges on top of the start')
    assert.equal(history[2], start)
    assert.deepEqual(new Set(history.slice(0, 2)), new Set([a.sha, b.sha]))
    assert.equal(await mergesOf(tipA), 1)
    assert.equal(await mergesOf(tipB), 1)
    // The loser ran its check twice: once on the old main, once after re-fetching.
    const ran = readFileSync(runs, 'utf8').trim().split('\n')
    assert.equal(ran.length, 3, `check runs: ${ran.join(',')}`)
    assert.deepEqual(new Set(await fx.mainFiles()), new Set(['README.md', 'shared.txt', 'work/A.md', 'work/B.md']))
  })

  it('reports merged, not ejected, when another leader merged the entry while its check failed here', async () => {
    const tip = await fx.pushBranch('fleet/T8', { 'work/T8.md': 'T8' })
    const started = join(fx.dir, 'check-started')
    const go = join(fx.dir, 'check-go')
    const slow = runner(lead, { check: `touch ${started}; while [ ! -f ${go} ]; do sleep 0.05; done; exit 1` })
    const late = slow.process({ id: 'm8', taskId: 'T8', branch: 'fleet/T8', commit: tip })
    await waitFor(() => existsSync(started), 'the first leader\'s check to start')
    const other = await fx.clone('leader2')
    const first = await runner(other).process({ id: 'm8', taskId: 'T8', branch: 'fleet/T8', commit: tip })
    assert.equal(first.state, 'merged')
    writeFileSync(go, '')
    const out = await late
    assert.deepEqual(out, { state: 'merged', sha: await fx.remoteMain(), alreadyMerged: true, output: '' })
    assert.equal(await mergesOf(tip), 1)
  })

  it('recognises rejected pushes', () => {
    assert.equal(isPushRejection(' ! [rejected]        HEAD -> main (fetch first)'), true)
    assert.equal(isPushRejection('! [rejected] main (non-fast-forward)'), true)
    assert.equal(isPushRejection("fatal: '/nowhere' does not appear to be a git repository"), false)
  })
})
