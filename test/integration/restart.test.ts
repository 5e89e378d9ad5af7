import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gitAt } from '../../node/git/git.js'
import { cloneRepo, createSharedRemote } from '../../node/git/setup.js'
import { api, getJson, healthWithin } from '../helpers/http.js'
import { killAll, killNode, removeDir, startNode, tempDir, type StartedNode } from '../../scripts/lib/node-process.js'
import { waitFor } from '../../scripts/lib/wait.js'

interface Task { id: string, status: string, assignee: string | null, assignmentId: string | null, failures: number, attempt: number }
interface Assignment { id: string, taskId: string, agentId: string, state: string, reason: string | null }

/** `n` independent tasks over two roles, in the Markdown plan form. */
function plan (n: number): string {
  const lines = ['# Plan: restart test', 'id: restart', '']
  ;['alpha', 'beta'].forEach((role, e) => {
    lines.push(`## Epic E${e}: ${role} work (role: ${role})`, '')
    for (let i = e; i < n; i += 2) lines.push(`- [R${i}] Task number ${i} (1h)`)
    lines.push('')
  })
  return lines.join('\n')
}

/** GET /health within 5 s (generous: the test machine is shared); a node whose event loop is stuck never answers. */
async function health (url: string): Promise<{ peers: number } | null> {
  return await healthWithin(url, 5000)
}

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/**
 * Polls /health every 250 ms until stopped, recording slow or missing answers: "keeps answering"
 * is checked over the whole run, not at one moment.
 */
function watchHealth (url: string): { stop: () => Promise<{ checks: number, failures: number, worstMs: number }> } {
  let running = true
  const stats = { checks: 0, failures: 0, worstMs: 0 }
  const loop = (async () => {
    while (running) {
      const t0 = Date.now()
      const h = await health(url)
      stats.checks++
      stats.worstMs = Math.max(stats.worstMs, Date.now() - t0)
      if (h === null) stats.failures++
      await new Promise(resolve => setTimeout(resolve, 250))
    }
  })()
  return { stop: async () => { running = false; await loop; return stats } }
}

describe('restart after kill -9 while built-in agents hold tasks', function () {
  this.timeout(360_000)
  const dirs: string[] = []
  afterEach(async () => {
    await killAll()
    for (const d of dirs.splice(0)) removeDir(d)
  })

  async function gitNode (dir: string, remote: string, name: string, extraArgs: string[], bootstrap?: string): Promise<{ node: StartedNode, args: string[] }> {
    const repo = join(dir, name)
    await cloneRepo(remote, repo)
    const args = ['--repo', repo, ...extraArgs]
    const node = await startNode({ ...(bootstrap === undefined ? {} : { bootstrap: [bootstrap] }), extraArgs: args })
    dirs.push(node.dataDir)
    return { node, args }
  }

  it('answers /health within 5 s and keeps answering, gives the old assignments back within 10 s, and the plan completes with each task on main once', async () => {
    const dir = tempDir('fleet-restart-')
    dirs.push(dir)
    const remote = join(dir, 'remote.git')
    await createSharedRemote(remote)
    // The timings; the default 90 s lease, so only the restart itself can free the tasks in 10 s.
    // Each task takes 3 s, so a node killed while its agents work kills them mid-task.
    const common = ['--term', '5', '--liveness', '3', '--executor', 'sleep 3; echo "$FLEET_TASK_ID" > "done-$FLEET_TASK_ID.txt"']
    const { node: n0 } = await gitNode(dir, remote, 'repo0', ['--agent', 'A:alpha', '--agent', 'B:beta', ...common])
    const { node: n1, args: args1 } = await gitNode(dir, remote, 'repo1', ['--agent', 'C:alpha', '--agent', 'D:beta', ...common], n0.addr)
    await waitFor(async () => (await health(n0.url))?.peers === 1 && (await health(n1.url))?.peers === 1, 'the two nodes to connect', 30_000)
    const ids = Array.from({ length: 12 }, (_, i) => `R${i}`)
    assert.equal((await api(n0.url, 'POST', '/api/plan/import', { content: plan(ids.length), format: 'markdown' })).status, 200)

    // Both agents of n1 are working on confirmed assignments.
    const held = await waitFor(async () => {
      const mine = (await getJson<Task[]>(n1.url, '/api/tasks')).filter(t => t.status === 'in_progress' && (t.assignee === 'C' || t.assignee === 'D'))
      return mine.length === 2 ? mine : false
    }, 'both agents of the second node to hold confirmed tasks', 120_000, 50)
    await killNode(n1)

    const restartAt = Date.now()
    const n1b = await startNode({ dataDir: n1.dataDir, bootstrap: [n0.addr], extraArgs: args1 })
    // "Started" is when the node says so (prints its URL): how long the process takes to get there
    // depends on the machine's load (reported below), the bug was a node that never answered after.
    const startedAt = Date.now()
    const answeredAfterMs = await waitFor(async () => (await health(n1b.url)) !== null && Date.now() - startedAt, 'the restarted node to answer /health', 30_000, 50)
    const watch = watchHealth(n1b.url)
    const cpuAtStart = cpuSeconds(n1b.proc.pid as number)
    try {
      assert.ok(answeredAfterMs <= 5000, `the restarted node answered /health ${answeredAfterMs} ms after it started (want <= 5000); its log: ${n1b.stderr.slice(-10).join(' | ')}`)

      // Its agents give the tasks they held back at once, not after the 90 s lease.
      for (const t of held) {
        const a = await waitFor(async () => {
          const x = await getJson<Assignment>(n0.url, `/api/assignments/${t.assignmentId ?? ''}`)
          return x.state === 'released' ? x : false
        }, `assignment ${t.assignmentId ?? ''} of task ${t.id} to be given back`, 30_000, 50)
        assert.match(a.reason ?? '', /agent restarted/)
      }
      const givenBackAfterMs = Date.now() - startedAt
      assert.ok(givenBackAfterMs <= 10_000, `the old assignments were given back ${givenBackAfterMs} ms after the node started (want <= 10000)`)

      await waitFor(async () => (await getJson<Task[]>(n0.url, '/api/tasks')).every(t => t.status === 'done'), 'every task done after the restart', 240_000, 250)
      const tasks = await getJson<Task[]>(n1b.url, '/api/tasks')
      for (const t of held) assert.equal(tasks.find(x => x.id === t.id)?.failures, 0, `task ${t.id}: giving it back after a restart is not a failure`)
      assert.equal((await health(n0.url))?.peers, 1, 'the first node sees the restarted one')
      assert.equal((await health(n1b.url))?.peers, 1, 'the restarted node sees the first one')
      const log = (await gitAt(remote).raw(['log', '--format=%s', 'main'])).split('\n').filter(Boolean)
      for (const id of ids) {
        assert.equal(log.filter(s => s.startsWith(`Merge fleet/${id}:`)).length, 1, `task ${id} must be merged exactly once; main: ${log.join(' | ')}`)
      }
      const cpu = cpuSeconds(n1b.proc.pid as number) - cpuAtStart
      const h = await watch.stop()
      process.stderr.write(`      (restarted node: started ${startedAt - restartAt} ms after the spawn, /health ${answeredAfterMs} ms after that, old assignments back ${givenBackAfterMs} ms after it started, ` +
        `${h.checks} health checks, ${h.failures} unanswered, slowest ${h.worstMs} ms, ${cpu.toFixed(1)} CPU s over ${((Date.now() - restartAt) / 1000).toFixed(1)} s)\n`)
      assert.equal(h.failures, 0, `the restarted node left ${h.failures} of ${h.checks} health checks unanswered within 5 s`)
    } finally {
      await watch.stop()
    }
  })

  it('a 12 s task under --lease 5 completes on its first attempt (heartbeats follow the lease)', async () => {
    const dir = tempDir('fleet-lease-')
    dirs.push(dir)
    const remote = join(dir, 'remote.git')
    await createSharedRemote(remote)
    // No progress lines: only the heartbeats keep the lease. The second node judges the lease
    // from the heartbeats it hears in presence announcements.
    const lease = ['--lease', '5', '--liveness', '2', '--term', '600']
    const { node: n0 } = await gitNode(dir, remote, 'repo0', ['--agent', 'A:alpha', '--executor', 'sleep 12; echo done > out.txt', ...lease])
    const n1 = await startNode({ bootstrap: [n0.addr], extraArgs: lease })
    dirs.push(n1.dataDir)
    await waitFor(async () => (await health(n0.url))?.peers === 1 && (await health(n1.url))?.peers === 1, 'the two nodes to connect', 30_000)
    assert.equal((await api(n1.url, 'POST', '/api/tasks', { id: 'LONG', title: 'twelve seconds of work', role: 'alpha' })).status, 201)
    const done = await waitFor(async () => {
      const t = await getJson<Task>(n1.url, '/api/tasks/LONG')
      return t.status === 'done' || t.status === 'failed' || t.failures > 0 ? t : false
    }, 'the long task to end', 120_000, 250)
    assert.equal(done.status, 'done', `the task ended ${done.status} with ${done.failures} failures`)
    assert.equal(done.failures, 0)
    assert.equal(done.attempt, 0, 'still the first attempt (attempts count from 0)')
    const mine = await getJson<Assignment[]>(n1.url, '/api/agents/A/assignments')
    assert.deepEqual(mine.map(a => a.state), ['completed'], 'one assignment, never expired')
  })
})
