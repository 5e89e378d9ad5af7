import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { gitAt } from '../../node/git/git.js'
import { cloneRepo, createSharedRemote } from '../../node/git/setup.js'
import { api, getJson } from '../helpers/http.js'
import { CLI_ENTRY, killAll, killNode, removeDir, runCli, startNode, tempDir, type StartedNode } from '../../scripts/lib/node-process.js'
import { waitFor } from '../../scripts/lib/wait.js'

interface Task { id: string, status: string }
interface Assignment { id: string, taskId: string, state: string, claimedAt: number, endedAt: number | null }

/** Six tasks for role dev: a chain T1 -> T2 -> T3 and T4, T5 -> T6 beside it. */
const PLAN = [
  '# Plan: remote agent test', 'id: remote-agent', '',
  '## Epic E1: work (role: dev)', '',
  '- [T1] First step (1h)',
  '- [T2] Second step (1h, depends: T1)',
  '- [T3] Third step (1h, depends: T2)',
  '- [T4] Side task (1h)',
  '- [T5] Another side task (1h, depends: T4)',
  '- [T6] Last step (1h, depends: T3, T5)', ''
].join('\n')
const IDS = ['T1', 'T2', 'T3', 'T4', 'T5', 'T6']

interface AgentProc { proc: ChildProcess, stdout: string[], stderr: string[], exit: Promise<number | null> }

/** `fleet agent` as its own process (node directly, so signals reach it). */
function startAgent (args: string[], env: NodeJS.ProcessEnv = {}): AgentProc {
  const proc = spawn(process.execPath, [CLI_ENTRY, 'agent', ...args], { env: { ...process.env, FLEET_LOG_LEVEL: process.env.FLEET_TEST_LOG_LEVEL ?? 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const stdout: string[] = []
  const stderr: string[] = []
  proc.stdout.on('data', (d: Buffer) => { stdout.push(...d.toString().split('\n').filter(Boolean)) })
  proc.stderr.on('data', (d: Buffer) => { stderr.push(...d.toString().split('\n').filter(Boolean)) })
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  return { proc, stdout, stderr, exit }
}

/** Subjects of main's merge commits on the shared remote. */
async function merges (remote: string): Promise<string[]> {
  return (await gitAt(remote).raw(['log', '--format=%s', 'main'])).split('\n').filter(s => s.startsWith('Merge '))
}

describe('fleet agent: agents outside the nodes, with failover', function () {
  this.timeout(300_000)
  const dirs: string[] = []
  const agents: AgentProc[] = []
  afterEach(async () => {
    for (const a of agents.splice(0)) {
      if (a.proc.exitCode === null && a.proc.signalCode === null) {
        a.proc.kill('SIGKILL')
        await a.exit
      }
    }
    await killAll()
    for (const d of dirs.splice(0)) removeDir(d)
  })

  it('refuses bad options with exit 2 and one line, and exits 1 when no node answers', async () => {
    const dir = tempDir('fleet-agent-opts-')
    dirs.push(dir)
    const remote = join(dir, 'remote.git')
    await createSharedRemote(remote)
    await cloneRepo(remote, join(dir, 'clone'))
    const bad = await runCli(['agent', '--node', 'ftp://x', '--agent', 'A:dev', '--repo', join(dir, 'clone')])
    assert.equal(bad.code, 2)
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr)
    assert.match(bad.stderr, /--node/)
    const noAgent = await runCli(['agent', '--node', 'http://127.0.0.1:9'], { FLEET_REPO: join(dir, 'clone') })
    assert.equal(noAgent.code, 2)
    assert.match(noAgent.stderr, /--agent/)
    // The seed worker's variables are accepted; two closed ports: nobody answers.
    const down = await runCli(['agent', '--data', join(dir, 'agent')], { ORCHESTRATOR_URL: 'http://127.0.0.1:9', FLEET_NODE: '', AGENT_NAME: 'A', AGENT_ROLE: 'dev', REPO_PATH: join(dir, 'clone') })
    assert.equal(down.code, 1, down.stderr)
    assert.equal(down.stderr.trim().split('\n').length, 1, down.stderr)
    assert.match(down.stderr, /no fleet node answers \(http:\/\/127\.0\.0\.1:9: connection refused\)/)
    const help = await runCli(['agent', '--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /--node URL/)
  })

  it('works a 6-task plan through two nodes, fails over when its node is killed, and is never run twice', async () => {
    const dir = tempDir('fleet-agent-')
    dirs.push(dir)
    const remote = join(dir, 'remote.git')
    await createSharedRemote(remote)
    const nodeClone = join(dir, 'node-clone')
    const agentClone = join(dir, 'agent-clone')
    await cloneRepo(remote, nodeClone)
    await cloneRepo(remote, agentClone)
    const timing = ['--liveness', '3', '--term', '600']
    // n1 only serves the API; n2 has the clone, so it alone leads the merge queue.
    const n1 = await startNode({ extraArgs: timing })
    const n2 = await startNode({ bootstrap: [n1.addr], extraArgs: ['--repo', nodeClone, ...timing] })
    dirs.push(n1.dataDir, n2.dataDir)
    await waitFor(async () => (await getJson<{ peers: number }>(n1.url, '/health')).peers === 1, 'the two nodes to connect')
    assert.equal((await api(n1.url, 'POST', '/api/plan/import', { content: PLAN, format: 'markdown' })).status, 200)

    // Each task takes a moment, so the kill lands while the agent is busy.
    // T7, added at the end, runs long: SIGTERM must give it back.
    const executor = 'echo "progress 30 working"; if [ "$FLEET_TASK_ID" = T7 ]; then sleep 120; fi; sleep 0.5; echo "$FLEET_TASK_ID" > "work-$FLEET_TASK_ID.txt"; echo "progress 90 written"'
    const agent = startAgent(['--node', n1.url, '--node', n2.url, '--agent', 'A:dev', '--repo', agentClone, '--data', join(dir, 'agent'), '--executor', executor])
    agents.push(agent)
    await waitFor(() => agent.stdout.some(l => l === `using: ${n1.url}`) || (agent.proc.exitCode !== null ? Promise.reject(new Error(agent.stderr.join('\n'))) : false), 'the agent to start on n1', 60_000)

    // A second process with the same agent name is refused, even through the other node.
    await waitFor(async () => (await getJson<Array<{ id: string, lastHeartbeatAt: number | null }>>(n2.url, '/api/agents')).find(a => a.id === 'A')?.lastHeartbeatAt ?? null, 'n2 to hear the agent\'s heartbeat', 30_000)
    const twin = await runCli(['agent', '--node', n2.url, '--agent', 'A:dev', '--repo', agentClone, '--data', join(dir, 'twin')])
    assert.equal(twin.code, 1, `the twin must be refused: ${twin.stdout} ${twin.stderr}`)
    assert.match(twin.stderr, /agent A is already running/)

    const done = async (n: StartedNode): Promise<number> => (await getJson<Task[]>(n.url, '/api/tasks')).filter(t => t.status === 'done').length
    await waitFor(async () => await done(n2) >= 2, 'two tasks merged', 120_000, 100)
    await killNode(n1)
    await waitFor(async () => await done(n2) === 6 ? true : false, 'all six tasks done through n2 after n1 was killed', 180_000, 200)
    assert.ok(agent.stdout.some(l => l.startsWith(`node ${n1.url} failed`) && l.endsWith(`now using ${n2.url}`)), `the agent reports the failover: ${agent.stdout.join(' | ')}`)
    assert.equal(agent.proc.exitCode, null, 'the agent is still running')

    const subjects = await merges(remote)
    for (const id of IDS) assert.equal(subjects.filter(s => s.startsWith(`Merge fleet/${id}:`)).length, 1, `task ${id} merged exactly once: ${subjects.join(' | ')}`)
    const files = (await gitAt(remote).raw(['ls-tree', '--name-only', 'main'])).split('\n').filter(f => f.startsWith('work-'))
    assert.deepEqual(files.sort(), IDS.map(id => `work-${id}.txt`))

    // The leader deleted each merged fleet/ branch from the remote.
    await waitFor(async () => (await gitAt(remote).raw(['branch', '--list', 'fleet/*'])).trim() === '', 'the merged fleet/ branches to be deleted from the remote', 30_000, 200)

    // The agent never held two tasks: its winning assignments do not overlap in time.
    const held = (await getJson<Assignment[]>(n2.url, '/api/agents/A/assignments')).filter(a => a.state !== 'lost').sort((a, b) => a.claimedAt - b.claimedAt)
    for (let i = 1; i < held.length; i++) {
      const prev = held[i - 1] as Assignment
      const cur = held[i] as Assignment
      assert.ok(prev.endedAt !== null && prev.endedAt <= cur.claimedAt, `assignment ${prev.id} (${prev.taskId}) ended before ${cur.id} (${cur.taskId}) was claimed`)
    }
    assert.deepEqual([...new Set(held.filter(a => a.state === 'completed').map(a => a.taskId))].sort(), IDS)

    // SIGTERM while working gives the task back at once (not after a lease).
    assert.equal((await api(n2.url, 'POST', '/api/tasks', { id: 'T7', title: 'Long one', role: 'dev' })).status, 201)
    await waitFor(async () => (await getJson<{ status: string, assignee: string | null }>(n2.url, '/api/tasks/T7')).status === 'in_progress', 'the agent to work on T7', 60_000, 100)
    agent.proc.kill('SIGTERM')
    assert.equal(await agent.exit, 0, agent.stderr.slice(-5).join('\n'))
    const t7 = await getJson<{ status: string, assignee: string | null, reason: string | null }>(n2.url, '/api/tasks/T7')
    assert.equal(t7.status, 'pending', 'T7 was given back')
    assert.match(t7.reason ?? '', /released by agent A|shutting down/)
  })
})
