import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { silentLogger } from '../../node/logger.js'
import { Executor } from '../../node/agents/executor.js'
import { AgentWorker } from '../../node/agents/worker.js'
import { gitAt } from '../../node/git/git.js'
import { MergeLeader } from '../../node/git/merge-leader.js'
import { MergeRunner } from '../../node/git/merge-runner.js'
import { WorktreeManager } from '../../node/git/worktrees.js'
import { waitFor } from '../../scripts/lib/wait.js'
import { FakeCoordinator } from '../unit/git/fake-coordinator.js'
import { GitFixture } from '../unit/git/fixture.js'
import { MemoryQueue } from '../unit/git/memory-queue.js'

/**
 * The git side of the pipeline in one process: two "nodes" (clones of one bare remote), two agents
 * each, and a merge leader per node whose leadership rotates every 250 ms with a deliberate
 * overlap (both lead for 50 ms of each term), all over an in-memory coordinator and queue that
 * stand in for the replicated document.
 */
describe('git pipeline: agents on two clones, rotating merge leaders', function () {
  this.timeout(90_000)
  let fx: GitFixture
  const workers: AgentWorker[] = []
  const leaders: MergeLeader[] = []
  afterEach(async () => {
    await Promise.all([...workers.splice(0), ...leaders.splice(0)].map(async (x) => await x.stop()))
    fx?.cleanup()
  })

  it('completes every task, redoes the one ejected for a conflict, and main holds each change exactly once', async () => {
    fx = await GitFixture.create({ 'README.md': 'demo\n', 'shared.txt': 'shared\n' })
    const coord = new FakeCoordinator()
    const queue = new MemoryQueue('n1')
    coord.onEnqueue = (r) => queue.add({ id: `m-${r.assignmentId}`, taskId: r.taskId, branch: r.branch, commit: r.commit }, 0, Date.now())
    queue.onMerged = (e) => coord.markDone(e.taskId)
    queue.onEjected = (e, reason) => coord.reopen(e.taskId, `ejected: ${reason}`)

    // C1 and C2 both append to shared.txt from the same main (each waits until both have started),
    // so whichever merges second conflicts, is ejected, and is redone on the new main.
    const barrier = join(fx.dir, 'barrier')
    mkdirSync(barrier)
    const command = 'mkdir -p work && printf "%s\\n" "$FLEET_TASK_TITLE" > "work/$FLEET_TASK_ID.md" && ' +
      `case "$FLEET_TASK_ID" in C*) touch ${barrier}/"$FLEET_TASK_ID"; ` +
      `while [ "$(ls ${barrier} | wc -l)" -lt 2 ]; do sleep 0.05; done; echo "$FLEET_TASK_ID" >> shared.txt;; esac; ` +
      'echo "progress 100 done"'
    const ids = ['C1', 'C2', ...Array.from({ length: 8 }, (_, i) => `T${i + 1}`)]
    for (const id of ids) coord.addTask({ id })

    const term = 250
    for (const [i, node] of ['n1', 'n2'].entries()) {
      const repo = await fx.clone(node)
      const worktrees = new WorktreeManager({ repo, root: join(fx.dir, `${node}-data`, 'worktrees') })
      for (const agent of [`${node}-a`, `${node}-b`]) {
        workers.push(new AgentWorker({
          agent: { id: agent, name: agent, role: 'backend', capabilities: [] },
          coordinator: coord,
          worktrees,
          executor: new Executor({ command, timeoutMs: 20_000 }),
          logger: silentLogger(),
          heartbeatMs: 200,
          idleMs: 30,
          backoff: { baseMs: 20, maxMs: 200 }
        }))
      }
      const runner = new MergeRunner({ repo, scratchDir: join(fx.dir, `${node}-data`, 'merges'), check: 'test -f README.md', logger: silentLogger() })
      leaders.push(new MergeLeader({
        runner,
        store: queue.asNode(node),
        isLeader: () => Math.floor(Date.now() / term) % 2 === i || Date.now() % term < 50,
        logger: silentLogger(),
        pollMs: 30,
        backoff: { baseMs: 20, maxMs: 200 }
      }))
    }
    const started = Date.now()
    for (const x of [...workers, ...leaders]) x.start()
    await waitFor(() => ids.every(id => coord.task(id).status === 'done'), 'every task done (merged)', 60_000)
    const wallMs = Date.now() - started

    // Exactly one of C1/C2 was ejected for the conflict, and redone with the reason in view.
    const ejected = [...queue.rows.values()].filter(r => r.state === 'ejected')
    assert.equal(ejected.length, 1, `ejected: ${JSON.stringify(ejected.map(r => [r.entry.taskId, r.reason]))}`)
    assert.match(ejected[0]?.reason ?? '', /^merge conflict with main [0-9a-f]{7} in shared\.txt$/)
    const redone = ejected[0]?.entry.taskId ?? ''
    assert.match(coord.task(redone).task.reason ?? '', /ejected: merge conflict/)
    assert.equal(coord.of(redone).filter(a => a.state === 'completed').length, 2)

    // main: every task's file, both shared lines once, each merged commit merged exactly once,
    // the ejected commit never.
    const files = await fx.mainFiles()
    for (const id of ids) assert.ok(files.includes(`work/${id}.md`), `work/${id}.md in main`)
    const shared = (await fx.showMain('shared.txt') ?? '').trim().split('\n')
    assert.deepEqual(shared.slice(0, 1), ['shared'])
    assert.deepEqual(shared.slice(1).sort(), ['C1', 'C2'])
    const merges = (await gitAt(fx.remote).raw(['rev-list', '--merges', '--parents', 'main'])).trim().split('\n').map(l => l.split(' '))
    for (const r of queue.rows.values()) {
      const n = merges.filter(m => m[2] === r.entry.commit).length
      assert.equal(n, r.state === 'merged' ? 1 : 0, `${r.entry.id} (${r.entry.taskId}, ${r.state}) merged ${n} times`)
    }
    // main only moved forward: a straight first-parent line of merges on top of the seed commit.
    const line = await fx.mainFirstParents()
    assert.equal(line.length, ids.length + 1)
    process.stdout.write(`      (10 tasks, 4 agents, 2 rotating leaders: ${wallMs} ms; leader stats ${JSON.stringify(leaders.map(l => l.stats))})\n`)
  })
})
