import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { api, getJson } from '../helpers/http.js'
import { killAll, removeDir, runCli, startNode, tempDir, type StartedNode } from '../../scripts/lib/node-process.js'
import { waitFor } from '../../scripts/lib/wait.js'
import { generatePlan } from '../../scripts/lib/generate-plan.js'
import { DEFAULT_PLAN_WORKER_MIN_BYTES } from '../../node/services/plan-preparer.js'

const SAMPLE = fileURLToPath(new URL('../../../plan/examples/remediation-plan.md', import.meta.url))

interface Overview { totalTasks: number, totalEstimatedHours: number, byStatus: Record<string, number>, byEpic: Array<{ epic: string, tasks: number, hours: number, doneHours: number, percent: number }>, percentComplete: number }
interface Task { id: string, title: string, status: string, estimatedHours: number, dependsOn: string[], epic: string, role: string | null, reason: string | null }

const heads = async (n: StartedNode): Promise<string> => (await getJson<{ heads: string[] }>(n.url, '/health')).heads.join()
const overview = async (n: StartedNode): Promise<Overview> => await getJson<Overview>(n.url, '/api/progress/overview')

describe('plan import and the task API', function () {
  this.timeout(120_000)
  const dirs: string[] = []
  let n1: StartedNode
  let n2: StartedNode
  beforeEach(async () => {
    n1 = await startNode()
    n2 = await startNode({ bootstrap: [n1.addr] })
    dirs.push(n1.dataDir, n2.dataDir)
    await waitFor(async () => (await getJson<{ peers: number }>(n2.url, '/health')).peers === 1, 'node 2 to connect to node 1')
  })
  afterEach(async () => {
    await killAll()
    for (const d of dirs.splice(0)) removeDir(d)
  })

  it('imports the sample plan through the CLI on one node; every node shows 28 tasks / 552 h; a re-import changes nothing', async () => {
    const r = await runCli(['plan', 'import', SAMPLE, '--node', n1.url])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /28 tasks, 552 h \(28 added/)
    assert.equal(r.stdout.trim().split('\n').length, 1, 'one-line summary')
    for (const n of [n1, n2]) {
      await waitFor(async () => (await overview(n)).totalTasks === 28, `28 tasks on ${n.url}`)
      const o = await overview(n)
      assert.equal(o.totalEstimatedHours, 552)
      assert.equal(o.byEpic.length, 5)
      assert.equal((o.byStatus.pending ?? 0) + (o.byStatus.blocked ?? 0), 28)
    }
    await waitFor(async () => await heads(n1) === await heads(n2), 'both nodes to hold the same heads')
    const before = await heads(n1)
    const again = await runCli(['plan', 'import', SAMPLE, '--node', n2.url])
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, /0 added, 0 updated, 0 cancelled, 28 unchanged, 0 skipped\), document unchanged/)
    assert.equal(await heads(n1), before, 're-import on another node changed the heads')
    assert.equal(await heads(n2), before)
  })

  it('rejects an invalid plan with every problem and its line, and writes nothing', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const bad = join(dir, 'bad.md')
    writeFileSync(bad, '# Plan: broken\n\n## Epic E1: One\n\n### T1: First\n- hours: 0\n- depends: T2\n\n### T2: Second\n- hours: 4\n- depends: T1\n\n### T2: Duplicate\n- hours: 2\n')
    const before = await heads(n1)
    const r = await runCli(['plan', 'import', bad, '--node', n1.url])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /bad\.md:6: .*estimatedHours/)
    assert.match(r.stderr, /T2/)
    assert.match(r.stderr, /cycle|duplicate/i)
    assert.equal(await heads(n1), before, 'an invalid plan changed the document')
    const http = await api<{ error: string, details: Array<{ path: string, message: string }> }>(n1.url, 'POST', '/api/plan/import', { content: '{"id": "p", "title": "t", "epics": [], "tasks": 3}', format: 'json' })
    assert.equal(http.status, 400)
    assert.ok(http.body.details.length >= 1 && http.body.details.every(d => typeof d.path === 'string' && typeof d.message === 'string'))
    assert.equal((await api(n1.url, 'POST', '/api/plan/import', { content: 'x', bogus: 1 })).status, 400)
    assert.equal((await api(n1.url, 'POST', '/api/plan/import', 'not json')).status, 400)
    assert.equal(await heads(n1), before)
  })

  it('imports a plan too large to plan on the event loop (a worker thread does it): every node holds it, and a bad one gets its problems', async () => {
    // 5,000 tasks of JSON are ~1.3 MB, over the size from which a node plans an import in a worker.
    const plan = generatePlan(5000) as { tasks: Array<{ id: string, dependsOn: string[] }> }
    assert.ok(JSON.stringify({ plan }).length > DEFAULT_PLAN_WORKER_MIN_BYTES, 'the body is large enough for the worker')
    const r = await api<{ totalTasks: number, tasks: { added: number }, changed: boolean }>(n1.url, 'POST', '/api/plan/import', { plan })
    assert.equal(r.status, 200, JSON.stringify(r.body))
    assert.equal(r.body.totalTasks, 5000)
    assert.equal(r.body.tasks.added, 5000)
    for (const n of [n1, n2]) await waitFor(async () => (await overview(n)).totalTasks === 5000, `5,000 tasks on ${n.url}`)
    const again = await api<{ changed: boolean }>(n2.url, 'POST', '/api/plan/import', { plan })
    assert.equal(again.status, 200)
    assert.equal(again.body.changed, false, 'the same plan again, on the other node, writes nothing')

    const before = await heads(n1)
    const broken = { ...plan, tasks: plan.tasks.map((t, i) => i === 700 ? { ...t, dependsOn: ['NOPE'] } : t) }
    const bad = await api<{ error: string, details: Array<{ path: string, message: string }> }>(n1.url, 'POST', '/api/plan/import', { plan: broken })
    assert.equal(bad.status, 400)
    assert.deepEqual(bad.body.details.map(d => d.message), ['unknown task "NOPE"'], bad.body.error)
    assert.equal(await heads(n1), before, 'a bad plan changed the document')
  })

  it('converges to one copy of each task when two nodes import the same plan at once', async () => {
    const [a, b] = await Promise.all([runCli(['plan', 'import', SAMPLE, '--node', n1.url]), runCli(['plan', 'import', SAMPLE, '--node', n2.url])])
    assert.equal(a.code, 0, a.stderr)
    assert.equal(b.code, 0, b.stderr)
    await waitFor(async () => await heads(n1) === await heads(n2), 'both nodes to converge')
    for (const n of [n1, n2]) {
      const o = await overview(n)
      assert.equal(o.totalTasks, 28)
      assert.equal(o.totalEstimatedHours, 552)
      const tasks = await getJson<Task[]>(n.url, '/api/tasks')
      assert.equal(new Set(tasks.map(t => t.id)).size, tasks.length, 'duplicate task ids')
    }
  })

  it('applies a revised plan: updates untouched tasks, adds new ones, cancels removed ones', async () => {
    const text = readFileSync(SAMPLE, 'utf8')
    await api(n1.url, 'POST', '/api/plan/import', { content: text, format: 'markdown' })
    const tasks = await getJson<Task[]>(n1.url, '/api/tasks')
    const leaf = tasks.find(t => !tasks.some(o => o.dependsOn.includes(t.id)))
    assert.ok(leaf !== undefined)
    const first = tasks[0] as Task
    // Revise: first task's hours +1 (as JSON for precision), drop the leaf, add a new task.
    const plan = (await getJson<Task[]>(n1.url, '/api/tasks')).filter(t => t.id !== leaf.id)
    const epics = [...new Set(plan.map(t => t.epic))].map(id => ({ id, title: `epic ${id}` }))
    const revised = {
      id: 'architecture-remediation',
      title: 'revised',
      epics,
      tasks: [...plan.map(t => ({ id: t.id, epic: t.epic, title: t.title, estimatedHours: t.id === first.id ? t.estimatedHours + 1 : t.estimatedHours, dependsOn: t.dependsOn, role: t.role })), { id: 'NEW.1', epic: first.epic, title: 'a new task', estimatedHours: 3, dependsOn: [] }]
    }
    const r = await api<{ tasks: Record<string, number> }>(n1.url, 'POST', '/api/plan/import', { plan: revised })
    assert.equal(r.status, 200, JSON.stringify(r.body))
    assert.equal(r.body.tasks.added, 1)
    assert.equal(r.body.tasks.cancelled, 1)
    assert.ok((r.body.tasks.updated ?? 0) >= 1)
    await waitFor(async () => (await api<Task>(n2.url, 'GET', `/api/tasks/${leaf.id}`)).body.status === 'cancelled', 'the removed task to be cancelled on node 2')
    const updated = await getJson<Task>(n2.url, `/api/tasks/${first.id}`)
    assert.equal(updated.estimatedHours, first.estimatedHours + 1)
    assert.equal((await getJson<Task>(n2.url, '/api/tasks/NEW.1')).title, 'a new task')
  })

  it('serves tasks with filters, availability over dependencies, validation and 404s', async () => {
    const mk = async (body: object): Promise<number> => (await api(n1.url, 'POST', '/api/tasks', body)).status
    assert.equal(await mk({ id: 'A', title: 'root', role: 'backend', estimatedHours: 2 }), 201)
    assert.equal(await mk({ id: 'B', title: 'needs A', dependsOn: ['A'], role: 'backend', priority: 5 }), 201)
    assert.equal(await mk({ id: 'C', title: 'frontend root', role: 'frontend', priority: 9 }), 201)
    assert.equal(await mk({ id: 'A', title: 'again' }), 409)
    assert.equal(await mk({ id: 'D', title: 'unknown dep', dependsOn: ['nope'] }), 409)
    assert.equal(await mk({ id: 'bad id!', title: 'x' }), 400)
    assert.equal(await mk({ id: 'E', title: 'x', estimatedHours: -1 }), 400)
    const avail = await getJson<Task[]>(n1.url, '/api/tasks/available')
    assert.deepEqual(avail.map(t => t.id), ['C', 'A'], 'B waits for A; C is most urgent')
    assert.deepEqual((await getJson<Task[]>(n1.url, '/api/tasks/available?role=backend')).map(t => t.id), ['A'])
    assert.deepEqual((await getJson<Task[]>(n1.url, '/api/tasks?role=frontend')).map(t => t.id), ['C'])
    assert.equal((await api(n1.url, 'GET', '/api/tasks?status=bogus')).status, 400)
    assert.equal((await api(n1.url, 'GET', '/api/tasks/ZZZ')).status, 404)
    const put = await api<Task>(n1.url, 'PUT', '/api/tasks/A', { title: 'renamed', estimatedHours: 3 })
    assert.equal(put.status, 200)
    assert.equal(put.body.title, 'renamed')
    assert.equal((await api(n1.url, 'PUT', '/api/tasks/A', { colour: 'red' })).status, 400)
    assert.equal((await api(n1.url, 'PUT', '/api/tasks/A', { dependsOn: ['B'] })).status, 409, 'a dependency cycle is refused')
    assert.equal((await api(n1.url, 'POST', '/api/tasks/A/retry')).status, 409, 'only failed tasks can be retried')
    // Cancelling A blocks B with a reason naming A.
    assert.equal((await api(n1.url, 'PUT', '/api/tasks/A', { status: 'cancelled' })).status, 200)
    const b = await getJson<Task>(n1.url, '/api/tasks/B')
    assert.equal(b.status, 'blocked')
    assert.match(b.reason ?? '', /A/)
    const o = await overview(n1)
    assert.equal(o.totalTasks, 2)
    assert.equal(o.byStatus.cancelled, 1)
    assert.equal(o.byStatus.blocked, 1)
  })
})
