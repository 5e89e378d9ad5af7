import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gitAt } from '../../node/git/git.js'
import { cloneRepo, createSharedRemote } from '../../node/git/setup.js'
import { createClusterSecrets, killAll, removeDir, startNode, tempDir, type StartedNode } from '../../scripts/lib/node-process.js'
import { NetnsLab, netnsUnavailable } from '../../scripts/lib/netns.js'
import { skipUnlessRequired } from '../helpers/environment.js'
import { waitFor } from '../../scripts/lib/wait.js'

interface Health { peers: number, heads: string[] }
interface Task { id: string, status: string, assignee: string | null, assignmentId: string | null }
interface Assignment { id: string, taskId: string, agentId: string, clock: number, state: string }
interface Entry { id: string, taskId: string, assignmentId: string, state: string, reason: string | null }
interface Evidence { assignmentId: string }
interface ErrorBody { error: string }
interface Reply<T> { status: number, body: T }
type Side = 'a' | 'b'

const P2P_PORT = 4001
const HTTP_PORT = 3000
/** The split: hosts 0-2 on one side, 3-4 on the other. */
const SIDE_A = [0, 1, 2]
const SIDE_B = [3, 4]
const SIDES: Side[] = ['a', 'b']
/**
 * Each side sees the other as dead after --liveness; leases must outlive the split, or a side
 * would (rightly) expire the other side's assignments made before it and the outcome would
 * depend on how long the split took on a loaded machine.
 */
const TIMING = ['--liveness', '2', '--lease', '60', '--term', '600', '--retry-backoff', '0.2']
/** How long a claim may take to be confirmed on its own side of the split. */
const SETTLE_UNDER_SPLIT_MS = 25_000

/** A plan in the Markdown form: epic role -> task ids. */
function plan (epics: Record<string, string[]>): string {
  const lines = ['# Plan: partition test', 'id: partition', '']
  Object.entries(epics).forEach(([role, ids], e) => {
    lines.push(`## Epic E${e + 1}: work for ${role} (role: ${role})`, '', ...ids.map(id => `- [${id}] Task ${id} (1h)`), '')
  })
  return lines.join('\n')
}

/**
 * Split 3/2 in network namespaces while both sides claim the same tasks, heal, and check what the
 * README promises: every replica converges, names one winner per task, fences the loser, and no
 * task reaches main twice.
 */
describe('partition 3/2 in network namespaces while both sides claim, then heal', function () {
  this.timeout(240_000)
  let lab: NetnsLab | null = null
  let secrets = ''
  let token = ''
  /** Per test: the shared bare remote and the nodes' clones. */
  let dir = ''
  let remote = ''
  let nodes: StartedNode[] = []

  before(async function () {
    const reason = await netnsUnavailable()
    if (reason !== null) skipUnlessRequired(this, 'the partition tests', reason)
    lab = await NetnsLab.create({ size: 5 })
    const made = await createClusterSecrets('fleet-partition-secrets-')
    secrets = made.dir
    token = made.token
  })

  afterEach(async () => {
    await killAll()
    await lab?.heal()
    for (const n of nodes) removeDir(n.dataDir)
    nodes = []
    if (dir !== '') removeDir(dir)
    dir = ''
  })

  after(async () => {
    await killAll()
    await lab?.teardown()
    if (secrets !== '') removeDir(secrets)
  })

  /** HTTP with the cluster's token (the API is bound to a namespace address, so writes need it). */
  async function call<T = unknown> (n: StartedNode, method: string, path: string, body?: unknown): Promise<Reply<T>> {
    const res = await fetch(n.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await res.text()
    let parsed: unknown = text
    try { parsed = JSON.parse(text) } catch { /* not JSON: keep the text */ }
    return { status: res.status, body: parsed as T }
  }

  async function get<T> (n: StartedNode, path: string): Promise<T> {
    const r = await call<T>(n, 'GET', path)
    if (r.status !== 200) throw new Error(`GET ${n.url}${path} -> ${r.status} ${JSON.stringify(r.body)}`)
    return r.body
  }

  async function expectStatus<T = unknown> (n: StartedNode, method: string, path: string, body: unknown, expected: number): Promise<T> {
    const r = await call<T>(n, method, path, body)
    assert.equal(r.status, expected, `${method} ${n.url}${path} -> ${r.status} ${JSON.stringify(r.body)}`)
    return r.body
  }

  function node (i: number): StartedNode {
    const n = nodes[i]
    if (n === undefined) throw new Error(`no node ${i}`)
    return n
  }

  async function heads (): Promise<string[]> {
    return await Promise.all(nodes.map(async n => (await get<Health>(n, '/health')).heads.join()))
  }

  /**
   * A shared bare remote (reachable from both sides: namespaces share the filesystem, like a git
   * host both halves of a split can still reach) and 5 nodes with a clone each, one per namespace,
   * all connected. `agents[i]`: the built-in agents of host i.
   */
  async function cluster (agents: Record<number, string[]>, env: NodeJS.ProcessEnv = {}): Promise<void> {
    if (lab === null) throw new Error('no lab')
    dir = tempDir('fleet-partition-')
    remote = join(dir, 'remote.git')
    await createSharedRemote(remote)
    const repos = Array.from({ length: 5 }, (_, i) => join(dir, `repo${i}`))
    await Promise.all(repos.map(async repo => { await cloneRepo(remote, repo) }))
    const start = async (i: number, bootstrap: string[]): Promise<StartedNode> => await startNode({
      wrapper: (lab as NetnsLab).wrapper(i),
      host: (lab as NetnsLab).host(i).ip,
      port: P2P_PORT,
      httpPort: HTTP_PORT,
      bootstrap,
      env,
      extraArgs: [
        '--swarm-key', join(secrets, 'swarm.key'), '--api-token-file', join(secrets, 'api.token'),
        '--repo', repos[i] as string, ...TIMING, ...(agents[i] ?? []).flatMap(a => ['--agent', a])
      ]
    })
    // Host 1 first (the others bootstrap from it), then the other four at once.
    nodes.push(await start(0, []))
    nodes.push(...await Promise.all([1, 2, 3, 4].map(async i => await start(i, [node(0).addr]))))
    await waitFor(async () => (await Promise.all(nodes.map(async n => (await get<Health>(n, '/health')).peers))).every(p => p === 4),
      'all 5 nodes to connect to each other', 60_000, 100)
  }

  /** Imports the plan on one node and waits until every node holds every task and `agents` agents. */
  async function importPlan (epics: Record<string, string[]>, agents: number): Promise<void> {
    await expectStatus(node(2), 'POST', '/api/plan/import', { content: plan(epics), format: 'markdown' }, 200)
    const ids = Object.values(epics).flat()
    await waitFor(async () => {
      const views = await Promise.all(nodes.map(async n => ({ tasks: await get<Task[]>(n, '/api/tasks'), agents: await get<unknown[]>(n, '/api/agents') })))
      return views.every(v => ids.every(id => v.tasks.some(t => t.id === id)) && v.agents.length >= agents)
    }, 'every node to hold the plan and every agent', 30_000, 100)
  }

  /** Heartbeats for hand-driven agents, on the node each is registered with (as a real agent would), until stopped. */
  function heartbeats (agents: Array<{ id: string, host: number }>): () => Promise<void> {
    let beating = true
    const loop = (async () => {
      while (beating) {
        await Promise.all(agents.map(async a => await call(node(a.host), 'PUT', `/api/agents/${a.id}/heartbeat`, {}).catch(() => undefined)))
        await new Promise(resolve => setTimeout(resolve, 1000))
      }
    })()
    return async () => {
      beating = false
      await loop
    }
  }

  interface Claim { task: string, side: Side, host: number, agentId: string, id: string, confirmedAfterMs: number }

  /**
   * Claims `task` for `agentId` on `host` and waits until its own node confirms it. Under a split
   * both sides must get there (double work is allowed); a claim that stays pending fails the test.
   */
  async function claimAndConfirm (task: string, side: Side, host: number, agentId: string): Promise<Claim> {
    const n = node(host)
    const body = await waitFor(async () => {
      const r = await call<Assignment>(n, 'POST', '/api/assignments', { taskId: task, agentId })
      if (r.status === 202) return r.body
      // 503: the node still waits for changes a live peer announced; anything else is a failure.
      if (r.status !== 503) throw new Error(`claim of ${task} on host ${host + 1} -> ${r.status} ${JSON.stringify(r.body)}`)
      return false
    }, `the claim of ${task} on host ${host + 1} to be accepted`, 15_000, 100)
    const claimedAt = Date.now()
    const state = await waitFor(async () => {
      const a = await get<Assignment>(n, `/api/assignments/${body.id}`)
      return a.state === 'pending' ? false : a.state
    }, `the claim of ${task} on host ${host + 1} (side ${side}) to be confirmed under the split`, SETTLE_UNDER_SPLIT_MS, 25)
    assert.equal(state, 'confirmed', `under the split, side ${side} confirms its own claim of ${task} (double work is expected)`)
    return { task, side, host, agentId, id: body.id, confirmedAfterMs: Date.now() - claimedAt }
  }

  /** The moment each side stops counting the other side's nodes as connected peers. */
  function watchPeerLoss (since: number): Promise<Record<Side, number>> {
    const lossOf = async (host: number, expected: number): Promise<number> => {
      await waitFor(async () => (await get<Health>(node(host), '/health')).peers === expected, `host ${host + 1} to drop the far side's peers`, 60_000, 50)
      return Date.now() - since
    }
    return Promise.all([lossOf(SIDE_A[0] as number, SIDE_A.length - 1), lossOf(SIDE_B[0] as number, SIDE_B.length - 1)]).then(([a, b]) => ({ a, b }))
  }

  /** Heals and waits until all 5 nodes report identical heads; the time that took. */
  async function healAndConverge (before: string[]): Promise<number> {
    if (lab === null) throw new Error('no lab')
    const healedAt = Date.now()
    await lab.heal()
    const merged = await waitFor(async () => {
      const hs = await heads()
      return hs.every(h => h === hs[0]) ? hs[0] : false
    }, 'all 5 nodes to report identical heads after the heal', 30_000, 25)
    const ms = Date.now() - healedAt
    assert.ok(merged !== undefined && merged !== before[SIDE_A[0] as number] && merged !== before[SIDE_B[0] as number], 'the converged heads hold both sides\' changes')
    return ms
  }

  /** Waits until each side agrees internally and returns every node's heads: the two sides must differ. */
  async function sidesQuietAndDiverged (): Promise<string[]> {
    const hs = await waitFor(async () => {
      const h = await heads()
      return SIDE_A.every(i => h[i] === h[SIDE_A[0] as number]) && SIDE_B.every(i => h[i] === h[SIDE_B[0] as number]) ? h : false
    }, 'each side to agree internally before the heal', 15_000, 50)
    assert.notEqual(hs[SIDE_A[0] as number], hs[SIDE_B[0] as number], 'the two sides diverged during the split')
    return hs
  }

  /** The winner by the README's rule (smallest (clock, id)), checked to be what every node reports. */
  async function checkOneWinner (task: string, claims: Claim[], winnerState: string, taskStatus: string): Promise<{ winner: Claim, loser: Claim }> {
    const views = await Promise.all(claims.map(async c => await get<Assignment>(node(0), `/api/assignments/${c.id}`)))
    const best = [...views].sort((x, y) => x.clock - y.clock || (x.id < y.id ? -1 : 1))[0]
    const winner = claims.find(c => c.id === best?.id)
    const loser = claims.find(c => c.id !== best?.id)
    assert.ok(winner !== undefined && loser !== undefined)
    for (const [i, n] of nodes.entries()) {
      const t = await get<Task>(n, `/api/tasks/${task}`)
      assert.equal(t.assignmentId, winner.id, `node ${i + 1} names the winning assignment of ${task}`)
      assert.equal(t.assignee, winner.agentId, `node ${i + 1} names the assignee of ${task}`)
      assert.equal(t.status, taskStatus, `status of ${task} on node ${i + 1}`)
      assert.equal((await get<Assignment>(n, `/api/assignments/${winner.id}`)).state, winnerState, `winner of ${task} on node ${i + 1}`)
      assert.equal((await get<Assignment>(n, `/api/assignments/${loser.id}`)).state, 'lost', `loser of ${task} on node ${i + 1}`)
    }
    return { winner, loser }
  }

  /** Every write of a losing assignment is refused with 409 on every node. */
  async function checkFenced (task: string, loser: Claim): Promise<void> {
    for (const [i, n] of nodes.entries()) {
      const progress = await call<ErrorBody>(n, 'PUT', `/api/assignments/${loser.id}/progress`, { percent: 90 })
      assert.equal(progress.status, 409, `loser's progress on node ${i + 1}: ${JSON.stringify(progress.body)}`)
      assert.match(progress.body.error, /lost/)
      const evidence = await call<ErrorBody>(n, 'POST', '/api/evidence', { taskId: task, assignmentId: loser.id, kind: 'log', content: 'late' })
      assert.equal(evidence.status, 409, `loser's evidence on node ${i + 1}: ${JSON.stringify(evidence.body)}`)
      const entry = await call<ErrorBody>(n, 'POST', '/api/git/merge-queue', { taskId: task, assignmentId: loser.id, branch: `fleet/${task}` })
      assert.equal(entry.status, 409, `loser's merge-queue entry on node ${i + 1}: ${JSON.stringify(entry.body)}`)
      const complete = await call<ErrorBody>(n, 'PUT', `/api/assignments/${loser.id}/complete`, { summary: 'again' })
      assert.equal(complete.status, 409, `loser's completion on node ${i + 1}: ${JSON.stringify(complete.body)}`)
    }
  }

  async function mainLog (): Promise<string[]> {
    return (await gitAt(remote).raw(['log', '--format=%s', 'main'])).split('\n').filter(Boolean)
  }

  function mergesOf (log: string[], task: string): number {
    return log.filter(s => s.startsWith(`Merge fleet/${task}:`)).length
  }

  /** At most one merged entry per task in every node's merge queue. */
  async function checkQueuesMergedOnce (ids: string[]): Promise<void> {
    for (const [i, n] of nodes.entries()) {
      const queue = await get<Entry[]>(n, '/api/git/merge-queue')
      for (const id of ids) {
        const merged = queue.filter(e => e.taskId === id && e.state === 'merged')
        assert.ok(merged.length <= 1, `at most one merged queue entry for ${id} on node ${i + 1}: ${JSON.stringify(merged)}`)
      }
    }
  }

  it('converges within seconds after heal: one winner per contested task everywhere, the loser fenced, nothing merged twice', async () => {
    if (lab === null) throw new Error('no lab')
    // Claimed by hand on both sides: D1 and D2 completed on both, D3 only started.
    const contested = ['D1', 'D2', 'D3']
    const completedOnBoth = ['D1', 'D2']
    const claimHosts: Record<string, [number, number]> = { D1: [0, 3], D2: [1, 4], D3: [2, 3] }
    const agentOf = (task: string, side: Side): string => `dev-${task}-${side}`
    // Worked on by built-in agents during the split, alpha only on side A and beta only on side B,
    // so each side's own leader merges into the one shared main at the same time.
    const alpha = ['A1', 'A2', 'A3']
    const beta = ['B1', 'B2', 'B3']
    // The demo executor is slowed down so the built-in agents' work straddles the split.
    await cluster({ 1: ['GA:alpha'], 4: ['GB:beta'] }, { FLEET_DEMO_DELAY_MS: '1500' })
    const handAgents = contested.flatMap(t => SIDES.map((side, k) => ({ id: agentOf(t, side), host: (claimHosts[t] as [number, number])[k] as number })))
    for (const a of handAgents) await expectStatus(node(a.host), 'POST', '/api/agents', { id: a.id, role: 'dev' }, 201)
    await importPlan({ dev: contested, alpha, beta }, handAgents.length + 2)
    const stopBeats = heartbeats(handAgents)

    try {
      // ---- split, then both sides claim the same three tasks at once ----
      const splitAt = Date.now()
      await lab.partition([SIDE_A, SIDE_B])
      const peerLoss = watchPeerLoss(splitAt)
      peerLoss.catch(() => undefined) // awaited below; a failure before that must not be an unhandled rejection
      const claims = await Promise.all(contested.flatMap(t => SIDES.map(async (side, k) => {
        const host = (claimHosts[t] as [number, number])[k] as number
        return await claimAndConfirm(t, side, host, agentOf(t, side))
      })))
      const confirmedAt = Date.now() - splitAt

      // Both sides do the work: progress and evidence, and completion of D1 and D2.
      for (const c of claims) {
        const n = node(c.host)
        await expectStatus(n, 'PUT', `/api/assignments/${c.id}/progress`, { percent: 50, message: `side ${c.side}` }, 200)
        await expectStatus(n, 'POST', '/api/evidence', { taskId: c.task, assignmentId: c.id, kind: 'log', content: `done on side ${c.side}` }, 201)
        if (completedOnBoth.includes(c.task)) await expectStatus(n, 'PUT', `/api/assignments/${c.id}/complete`, { summary: `side ${c.side}` }, 200)
      }
      // Each side merges its own built-in agents' work: heal only once both are done, so the
      // heal starts from two quiet, diverged replicas.
      const sideDone = async (hosts: number[], ids: string[]): Promise<void> => {
        await waitFor(async () => {
          const views = await Promise.all(hosts.map(async h => await get<Task[]>(node(h), '/api/tasks')))
          return views.every(ts => ids.every(id => ts.find(t => t.id === id)?.status === 'done'))
        }, `hosts ${hosts.map(h => h + 1).join(',')} to finish and merge ${ids.join(', ')} on their own`, 30_000, 100)
      }
      await Promise.all([sideDone(SIDE_A, alpha), sideDone(SIDE_B, beta)])
      const before = await sidesQuietAndDiverged()
      for (const c of claims) assert.equal((await get<Task>(node(c.host), `/api/tasks/${c.task}`)).assignee, c.agentId, `side ${c.side} names its own assignee of ${c.task}`)
      const lost = await peerLoss
      const splitMs = Date.now() - splitAt

      // ---- heal ----
      const convergeMs = await healAndConverge(before)

      const won: string[] = []
      for (const t of contested) {
        const done = completedOnBoth.includes(t)
        const { winner, loser } = await checkOneWinner(t, claims.filter(c => c.task === t), done ? 'completed' : 'confirmed', done ? 'done' : 'in_progress')
        won.push(`${t} -> side ${winner.side}`)
        // Evidence the loser wrote on its side replicated in, but is hidden.
        for (const [i, n] of nodes.entries()) {
          assert.deepEqual((await get<Evidence[]>(n, `/api/evidence/task/${t}`)).map(e => e.assignmentId), [winner.id], `only the winner's evidence of ${t} on node ${i + 1}`)
        }
        await checkFenced(t, loser)
        if (!done) {
          // The winner of the unfinished task carries on, from any node.
          await expectStatus(node(0), 'PUT', `/api/assignments/${winner.id}/progress`, { percent: 100 }, 200)
          await expectStatus(node(4), 'PUT', `/api/assignments/${winner.id}/complete`, { summary: 'finished after the heal' }, 200)
        }
      }
      await waitFor(async () => {
        const hs = await heads()
        const statuses = await Promise.all(nodes.map(async n => (await get<Task[]>(n, '/api/tasks')).filter(t => t.status !== 'done').map(t => t.id)))
        return hs.every(h => h === hs[0]) && statuses.every(s => s.length === 0)
      }, 'every node to agree that every task is done', 20_000, 50)

      // Nothing merged twice: on main, and in every node's merge queue.
      const log = await mainLog()
      for (const id of [...alpha, ...beta]) assert.equal(mergesOf(log, id), 1, `${id} on main exactly once; main: ${log.join(' | ')}`)
      for (const id of contested) assert.equal(mergesOf(log, id), 0, `${id} never went through git`)
      await checkQueuesMergedOnce([...contested, ...alpha, ...beta])

      process.stderr.write([
        `      split for ${splitMs} ms: far side's connections dropped after ${lost.a} ms (side A) / ${lost.b} ms (side B); ` +
          `contested claims confirmed ${Math.min(...claims.map(c => c.confirmedAfterMs))}-${Math.max(...claims.map(c => c.confirmedAfterMs))} ms after each claim, all by ${confirmedAt} ms after the split (--liveness 2)`,
        `      heal: all 5 nodes identical heads ${convergeMs} ms after the heal; winners ${won.join(', ')}`
      ].join('\n') + '\n')
    } finally {
      await stopBeats()
    }
  })

  it('merges a task that both sides of the split worked on and pushed at most once', async () => {
    if (lab === null) throw new Error('no lab')
    // What two agents on either side do (node/agents/worker.ts): branch fleet/<task> from main,
    // commit, push (replacing another attempt's branch with --force-with-lease), queue the exact
    // commit. Done by hand here so the order is fixed: side A's leader merges first, then side B
    // pushes and queues its own commit for the same task.
    await cluster({})
    const task = 'G1'
    const agents = [{ id: 'dev-a', host: SIDE_A[0] as number }, { id: 'dev-b', host: SIDE_B[0] as number }]
    for (const a of agents) await expectStatus(node(a.host), 'POST', '/api/agents', { id: a.id, role: 'dev' }, 201)
    await importPlan({ dev: [task] }, agents.length)
    const stopBeats = heartbeats(agents)
    const work = join(dir, 'work')
    mkdirSync(work)

    try {
      const splitAt = Date.now()
      await lab.partition([SIDE_A, SIDE_B])
      const claims = await Promise.all(agents.map(async (a, k) => await claimAndConfirm(task, SIDES[k] as Side, a.host, a.id)))
      // Both agents start from the main they fetched when they began (before either merge).
      const base = (await gitAt(remote).raw(['rev-parse', 'main'])).trim()
      const commitOn = async (c: Claim): Promise<string> => {
        const wt = join(work, c.side)
        await gitAt(work).raw(['clone', '--origin', 'origin', remote, wt])
        const git = gitAt(wt)
        await git.raw(['checkout', '-b', `fleet/${task}`, base])
        // Different files: the two attempts do not conflict textually, as two agents' work often won't.
        mkdirSync(join(wt, 'work'), { recursive: true })
        writeFileSync(join(wt, 'work', `${task}-${c.side}.md`), `work on ${task} by side ${c.side}\n`)
        await git.raw(['add', '-A'])
        await git.raw(['commit', '-m', `${task} on side ${c.side}`])
        return (await git.raw(['rev-parse', 'HEAD'])).trim()
      }
      const push = async (c: Claim, sha: string): Promise<void> => {
        const git = gitAt(join(work, c.side))
        const tip = (await git.raw(['ls-remote', 'origin', `refs/heads/fleet/${task}`])).split(/\s/)[0] ?? ''
        await git.raw(['push', ...(tip === '' ? [] : [`--force-with-lease=refs/heads/fleet/${task}:${tip}`]), 'origin', `${sha}:refs/heads/fleet/${task}`])
      }
      const queueAndWait = async (c: Claim, sha: string): Promise<Entry> => {
        const n = node(c.host)
        const { id } = await expectStatus<Entry>(n, 'POST', '/api/git/merge-queue', { taskId: task, assignmentId: c.id, branch: `fleet/${task}`, commit: sha }, 201)
        await expectStatus(n, 'PUT', `/api/assignments/${c.id}/complete`, { summary: `side ${c.side}` }, 200)
        return await waitFor(async () => {
          const e = (await get<Entry[]>(n, '/api/git/merge-queue')).find(x => x.id === id)
          return e?.state === 'merged' || e?.state === 'ejected' ? e : false
        }, `side ${c.side}'s leader to process its entry for ${task}`, 30_000, 50)
      }
      const [ca, cb] = claims as [Claim, Claim]
      const shaA = await commitOn(ca)
      const shaB = await commitOn(cb)
      await push(ca, shaA)
      const entryA = await queueAndWait(ca, shaA)
      // Once merged, side A's leader deletes fleet/G1 from the remote (tidy remote); pushing B's
      // branch while that deletion is in flight would race it (a stale lease), so let it finish.
      await waitFor(async () => (await gitAt(remote).raw(['branch', '--list', `fleet/${task}`])).trim() === '', `side A's leader to delete the merged branch fleet/${task}`, 30_000, 50)
      await push(cb, shaB)
      const entryB = await queueAndWait(cb, shaB)
      const splitLog = await mainLog()
      const before = await sidesQuietAndDiverged()
      const splitMs = Date.now() - splitAt

      const convergeMs = await healAndConverge(before)
      const { winner } = await checkOneWinner(task, claims, 'completed', 'done')
      process.stderr.write(`      split for ${splitMs} ms; under the split side A's entry was ${entryA.state}, side B's ${entryB.state}${entryB.reason === null ? '' : ` (${entryB.reason})`}; ` +
        `heal: identical heads after ${convergeMs} ms; winner side ${winner.side}\n`)
      const log = await mainLog()
      assert.equal(mergesOf(splitLog, task), mergesOf(log, task))
      assert.ok(mergesOf(log, task) <= 1, `${task} must reach main at most once, but main holds ${mergesOf(log, task)} merges of it: ${log.join(' | ')}`)
      await checkQueuesMergedOnce([task])
    } finally {
      await stopBeats()
    }
  })
})
