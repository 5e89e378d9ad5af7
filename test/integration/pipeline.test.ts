import assert from 'node:assert/strict'
import { join } from 'node:path'
import { cloneRepo, createSharedRemote } from '../../node/git/setup.js'
import { assertEachMergedOnce, mainLog } from '../helpers/git.js'
import { api, getJson } from '../helpers/http.js'
import { killAll, killNode, removeDir, startNode, tempDir, type StartedNode } from '../../scripts/lib/node-process.js'
import { waitFor } from '../../scripts/lib/wait.js'

interface Task { id: string, status: string, reason: string | null, failures: number }
interface Entry { id: string, taskId: string, assignmentId: string, state: string, reason: string | null, leader: string | null }

/** A plan of `n` independent tasks over two roles, in the Markdown form. */
function smallPlan (n: number, roles = ['alpha', 'beta']): string {
  const lines = ['# Plan: pipeline test', 'id: pipeline', '']
  roles.forEach((role, e) => {
    lines.push(`## Epic E${e}: work for ${role} (role: ${role})`, '')
    for (let i = e; i < n; i += roles.length) lines.push(`- [P${i}] Task number ${i} (2h)`)
    lines.push('')
  })
  return lines.join('\n')
}

describe('agents and the merge queue', function () {
  this.timeout(240_000)
  const dirs: string[] = []
  afterEach(async () => {
    await killAll()
    for (const d of dirs.splice(0)) removeDir(d)
  })

  /** A shared bare remote, and `count` nodes with a clone each; `agents[i]` are node i's agents. */
  async function gitCluster (agents: string[][], extraArgs: string[] = []): Promise<{ remote: string, nodes: StartedNode[] }> {
    const dir = tempDir('fleet-git-')
    dirs.push(dir)
    const remote = join(dir, 'remote.git')
    await createSharedRemote(remote)
    const repos = agents.map((_, i) => join(dir, `repo${i}`))
    await Promise.all(repos.map(async repo => { await cloneRepo(remote, repo) }))
    const start = async (i: number, bootstrap: string[]): Promise<StartedNode> => {
      const n = await startNode({ bootstrap, extraArgs: ['--repo', repos[i] as string, ...(agents[i] ?? []).flatMap(a => ['--agent', a]), ...extraArgs] })
      dirs.push(n.dataDir)
      return n
    }
    // The first node, then the rest at once (bootstrapped from it).
    const first = await start(0, [])
    const nodes = [first, ...await Promise.all(agents.slice(1).map(async (_, k) => await start(k + 1, [first.addr])))]
    await waitFor(async () => (await Promise.all(nodes.map(async n => (await getJson<{ peers: number }>(n.url, '/health')).peers))).every(p => p === nodes.length - 1), 'the nodes to connect')
    return { remote, nodes }
  }

  it('ejects a conflicting branch with the reason, then redoes it on top of main', async () => {
    // Every task writes the same file: branches made from the same main conflict when merged.
    const executor = 'echo "$FLEET_TASK_ID ${FLEET_TASK_REASON:-first try}" > shared.txt'
    const { remote, nodes } = await gitCluster([['A:alpha'], ['B:beta']], ['--executor', executor])
    const n1 = nodes[0] as StartedNode
    const plan = smallPlan(4)
    assert.equal((await api(n1.url, 'POST', '/api/plan/import', { content: plan, format: 'markdown' })).status, 200)
    await waitFor(async () => (await getJson<Task[]>(n1.url, '/api/tasks')).every(t => t.status === 'done'), 'all 4 tasks done despite conflicts', 150_000, 200)
    const queue = await getJson<Entry[]>(n1.url, '/api/git/merge-queue')
    const ejected = queue.filter(e => e.state === 'ejected')
    assert.ok(ejected.length >= 1, 'at least one branch conflicted and was ejected')
    assert.match(ejected[0]?.reason ?? '', /shared\.txt/)
    assert.equal(queue.filter(e => e.state === 'merged').length, 4)
    assertEachMergedOnce(await mainLog(remote), ['P0', 'P1', 'P2', 'P3'])
  })

  it('finishes every merge exactly once when the leader is killed during a check', async () => {
    const args = ['--check', 'sleep 1.5', '--term', '600', '--liveness', '2', '--lease', '5', '--retry-backoff', '0.2']
    // Each role has an agent on two nodes, so the work goes on whichever node leads and dies.
    const { remote, nodes } = await gitCluster([['A:alpha', 'B:beta'], ['C:alpha', 'D:beta'], []], args)
    const n3 = nodes[2] as StartedNode
    assert.equal((await api(n3.url, 'POST', '/api/plan/import', { content: smallPlan(6), format: 'markdown' })).status, 200)
    // Wait for a merge in progress, then kill the node leading it.
    const merging = await waitFor(async () => (await getJson<Entry[]>(n3.url, '/api/git/merge-queue')).find(e => e.state === 'merging' && e.leader !== null), 'a merge to be in progress', 120_000, 50)
    const leader = nodes.find(n => n.peerId === merging.leader)
    assert.ok(leader !== undefined)
    await killNode(leader)
    const survivor = nodes.find(n => n !== leader) as StartedNode
    await waitFor(async () => {
      const tasks = await getJson<Task[]>(survivor.url, '/api/tasks')
      if (tasks.every(t => t.status === 'done')) return true
      // Say where it stands if it never gets there: tasks, queue entries, agents and the live peers.
      const queue = await getJson<Entry[]>(survivor.url, '/api/git/merge-queue')
      const agents = await getJson<Array<{ id: string, health_status: string, currentTask: string | null }>>(survivor.url, '/api/agents')
      const peers = await getJson<{ peers: Array<{ peerId: string }> }>(survivor.url, '/api/peers')
      throw new Error([
        `tasks ${tasks.map(t => `${t.id}:${t.status}`).join(' ')}`,
        `queue ${queue.map(e => `${e.taskId}:${e.state}${e.leader === null ? '' : `@${e.leader.slice(-6)}`}`).join(' ')}`,
        `ejected for ${[...new Set(queue.filter(e => e.state === 'ejected').map(e => `${e.taskId} (${e.assignmentId.slice(0, 8)}): ${e.reason ?? '?'}`))].slice(0, 4).join(' | ')}`,
        `agents ${agents.map(a => `${a.id}:${a.health_status}${a.currentTask === null ? '' : `@${a.currentTask}`}`).join(' ')}`,
        `peers ${peers.peers.map(p => p.peerId.slice(-6)).join(' ')}; killed ${leader.peerId.slice(-6)}`
      ].join('; '))
    }, 'every task done after the leader died', 180_000, 200)
    const queue = await getJson<Entry[]>(survivor.url, '/api/git/merge-queue')
    assert.equal(queue.find(e => e.id === merging.id)?.state, 'merged', 'the interrupted merge was finished')
    assertEachMergedOnce(await mainLog(remote), Array.from({ length: 6 }, (_, i) => `P${i}`))
  })

  it('fails a task after N failed executor runs, with the stderr tail as the reason', async () => {
    const { nodes } = await gitCluster([['A:alpha']], ['--executor', 'echo "compiler exploded" >&2; exit 3', '--max-attempts', '2', '--retry-backoff', '0.1'])
    const n1 = nodes[0] as StartedNode
    assert.equal((await api(n1.url, 'POST', '/api/plan/import', { content: smallPlan(1, ['alpha']), format: 'markdown' })).status, 200)
    const t = await waitFor(async () => {
      const task = await getJson<Task>(n1.url, '/api/tasks/P0')
      return task.status === 'failed' ? task : false
    }, 'the task to fail after 2 attempts', 60_000, 100)
    assert.equal(t.failures, 2)
    assert.match(t.reason ?? '', /compiler exploded/)
  })
})
