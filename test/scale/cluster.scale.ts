import assert from 'node:assert/strict'
import { join } from 'node:path'
import { gitAt } from '../../node/git/git.js'
import { cloneRepo, createSharedRemote } from '../../node/git/setup.js'
import { GENERATED_ROLES, generatePlan } from '../../scripts/lib/generate-plan.js'
import { killAll, killNode, removeDir, startNode, tempDir, type StartedNode } from '../../scripts/lib/node-process.js'
import { waitFor } from '../../scripts/lib/wait.js'
import { api, getJson, healthWithin } from '../helpers/http.js'

/**
 * `npm run test:scale` (after `npm test` in .ci/run): a 24-node cluster of real node processes on
 * 127.0.0.1, 2 built-in agents per node with the demo executor, works through a generated
 * 300-task plan with dependencies while one node is killed -9 midway. Every task must end done
 * and be merged on main exactly once, and every surviving replica must agree.
 *
 * FLEET_SCALE_NODES and FLEET_SCALE_TASKS shrink it for a quick run on a developer machine.
 */

const NODES = Number(process.env.FLEET_SCALE_NODES ?? 24)
const TASKS = Number(process.env.FLEET_SCALE_TASKS ?? 300)
const AGENTS_PER_NODE = 2
const say = (s: string): void => { process.stderr.write(`      ${s}\n`) }
/** Nodes started at once: all 24 together would only queue on two cores. */
const START_BATCH = 4

interface Task { id: string, status: string, assignee: string | null }

describe(`scale: ${NODES} node processes, ${NODES * AGENTS_PER_NODE} agents, a ${TASKS}-task plan, one node killed -9`, function () {
  this.timeout(60 * 60_000)
  const dirs: string[] = []
  after(async () => {
    await killAll()
    for (const d of dirs.splice(0)) removeDir(d)
  })

  /** Each role's agents spread over the nodes (a node's two agents have different roles), so killing one node leaves every role served. */
  const roleOf = (node: number, k: number): string => GENERATED_ROLES[(node + 3 * k) % GENERATED_ROLES.length] as string

  it('finishes every task, each merged on main exactly once, and every surviving replica agrees', async () => {
    const nodesOfRole = new Map<string, Set<number>>()
    for (let i = 0; i < NODES; i++) for (let k = 0; k < AGENTS_PER_NODE; k++) nodesOfRole.set(roleOf(i, k), (nodesOfRole.get(roleOf(i, k)) ?? new Set()).add(i))
    const thin = GENERATED_ROLES.filter(r => (nodesOfRole.get(r)?.size ?? 0) < 2)
    assert.deepEqual(thin, [], `roles with agents on fewer than 2 nodes (a kill could leave their tasks unserved): use FLEET_SCALE_NODES >= ${Math.ceil(2 * GENERATED_ROLES.length / AGENTS_PER_NODE)}`)
    const dir = tempDir('fleet-scale-')
    dirs.push(dir)
    const remote = join(dir, 'remote.git')
    await createSharedRemote(remote)
    // 24 node processes share 2 cores here (a twelfth of a core each when all are busy), so the
    // liveness window and lease are those of an overcommitted VM: stalls of seconds must not read as
    // deaths. The killed node's tasks still come back within about a minute.
    const common = ['--executor', 'demo', '--lease', '60', '--liveness', '20', '--term', '30']
    const startOne = async (i: number, bootstrap: string | undefined): Promise<StartedNode> => {
      const repo = join(dir, `repo${i}`)
      await cloneRepo(remote, repo)
      const agents = Array.from({ length: AGENTS_PER_NODE }, (_, k) => ['--agent', `N${i}A${k}:${roleOf(i, k)}`]).flat()
      const node = await startNode({ ...(bootstrap === undefined ? {} : { bootstrap: [bootstrap] }), extraArgs: ['--repo', repo, ...agents, ...common], startTimeoutMs: 180_000 })
      dirs.push(node.dataDir)
      return node
    }
    const t0 = Date.now()
    const first = await startOne(0, undefined)
    const nodes: StartedNode[] = [first]
    for (let i = 1; i < NODES; i += START_BATCH) {
      const batch = Array.from({ length: Math.min(START_BATCH, NODES - i) }, (_, k) => i + k)
      nodes.push(...await Promise.all(batch.map(async (n) => await startOne(n, first.addr))))
    }
    let lonely = ''
    await waitFor(async () => {
      const hs = await Promise.all(nodes.map(async n => await healthWithin(n.url, 10_000)))
      lonely = hs.map((h, i) => h === null ? `node ${i}: no answer` : h.peers < 1 ? `node ${i}: 0 peers` : '').filter(Boolean).join(', ')
      return lonely === ''
    }, `all ${NODES} nodes to answer /health with a peer`, 600_000, 1000).catch((err: Error) => { throw new Error(`${err.message} (${lonely})`) })
    const formedMs = Date.now() - t0
    say(`${NODES} nodes up and connected after ${(formedMs / 1000).toFixed(0)} s`)

    const plan = generatePlan(TASKS)
    const imported = await api(first.url, 'POST', '/api/plan/import', { content: JSON.stringify(plan), format: 'json' })
    assert.equal(imported.status, 200, `plan import: ${JSON.stringify(imported.body)}`)
    const ids = (plan as { tasks: Array<{ id: string }> }).tasks.map(t => t.id)

    // Midway, a node (not the one the test reads from) is killed -9 while its agents work.
    const victim = nodes[Math.floor(NODES / 2)] as StartedNode
    await waitFor(async () => {
      const done = (await getJson<Task[]>(first.url, '/api/tasks')).filter(t => t.status === 'done').length
      return done >= TASKS / 2
    }, `half of the ${TASKS} tasks done`, 30 * 60_000, 2000)
    await killNode(victim)
    say(`half done after ${((Date.now() - t0) / 1000).toFixed(0)} s: killed node ${Math.floor(NODES / 2)} (-9)`)
    const survivors = nodes.filter(n => n !== victim)

    let seen = ''
    await waitFor(async () => {
      const tasks = await getJson<Task[]>(first.url, '/api/tasks')
      const open = tasks.filter(t => t.status !== 'done')
      seen = `${tasks.length - open.length} done; not done: ${open.slice(0, 10).map(t => `${t.id} ${t.status}${t.assignee === null ? "" : ` (${t.assignee})`}`).join(', ')}`
      return tasks.length === TASKS && open.length === 0
    }, `all ${TASKS} tasks done after the kill`, 30 * 60_000, 2000).catch((err: Error) => { throw new Error(`${err.message} (${seen})`) })
    const doneMs = Date.now() - t0

    const log = (await gitAt(remote).raw(['log', '--format=%s', 'main'])).split('\n').filter(Boolean)
    const merges = new Map<string, number>()
    for (const s of log) {
      const m = /^Merge fleet\/(\S+?):/.exec(s)
      if (m?.[1] !== undefined) merges.set(m[1], (merges.get(m[1]) ?? 0) + 1)
    }
    const wrong = ids.filter(id => merges.get(id) !== 1).map(id => `${id} x${merges.get(id) ?? 0}`)
    assert.deepEqual(wrong, [], 'tasks not merged on main exactly once')

    // Every surviving replica converges on the same document, with every task done.
    await waitFor(async () => {
      const heads = await Promise.all(survivors.map(async n => (await getJson<{ heads: string[] }>(n.url, '/health')).heads?.join(',') ?? ''))
      return heads.every(h => h !== '' && h === heads[0])
    }, 'every surviving node to hold the same heads', 300_000, 2000)
    for (const n of survivors) {
      const tasks = await getJson<Task[]>(n.url, '/api/tasks')
      assert.equal(tasks.filter(t => t.status === 'done').length, TASKS, `node ${n.url}: tasks done`)
    }
    say(`${TASKS} tasks done and merged ${(doneMs / 1000).toFixed(0)} s after the first start`)
  })
})
