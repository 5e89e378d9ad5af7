import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { api, getJson } from '../helpers/http.js'
import { killAll, removeDir, startNode, type StartedNode } from '../../scripts/lib/node-process.js'
import { waitFor } from '../../scripts/lib/wait.js'

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..')
const SCRIPT = resolve(root, 'scripts/verify-cluster.sh')

async function verify (...args: string[]): Promise<{ code: number | null, lines: string[], stderr: string }> {
  const proc = spawn('bash', [SCRIPT, '--timeout', '20', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  proc.stdout.on('data', (d: Buffer) => { out += d.toString() })
  proc.stderr.on('data', (d: Buffer) => { err += d.toString() })
  const code = await new Promise<number | null>((resolve) => proc.on('close', resolve))
  return { code, lines: out.split('\n').filter(Boolean), stderr: err }
}

function line (lines: string[], n: number): string {
  return lines.find(l => new RegExp(`^(ok  |FAIL) ${n} `).test(l)) ?? `(no line for check ${n} in: ${lines.join(' | ')})`
}

describe('scripts/verify-cluster.sh', function () {
  this.timeout(120_000)
  const nodes: StartedNode[] = []
  after(async () => {
    await killAll()
    for (const n of nodes) removeDir(n.dataDir)
  })

  before(async () => {
    const a = await startNode()
    const b = await startNode({ bootstrap: [a.addr] })
    nodes.push(a, b)
    for (const n of nodes) await waitFor(async () => (await getJson<{ peers: number }>(n.url, '/health')).peers === 1, `${n.url} to see its peer`)
  })

  it('passes the cluster checks on a fresh cluster and fails the ones that need a plan and agents', async () => {
    const r = await verify(...nodes.map(n => n.url))
    for (const n of [1, 2, 3, 6, 7]) assert.match(line(r.lines, n), /^ok {3}/, r.lines.join('\n'))
    assert.match(line(r.lines, 4), /^FAIL 4 plan +no plan loaded/)
    assert.match(line(r.lines, 5), /^FAIL 5 agents +no agents registered/)
    assert.match(line(r.lines, 6), /no task available/)
    assert.equal(r.code, 1)
    assert.match(r.lines.at(-1) ?? '', /FAILED 4 plan, 5 agents \(5 of 7 passed\)/)
  })

  it('passes all 7 checks once a plan and healthy agents are there, and the claim gives its task back', async () => {
    const [a, b] = nodes as [StartedNode, StartedNode]
    const content = readFileSync(resolve(root, 'plan/examples/remediation-plan.md'), 'utf8')
    const imp = await api(b.url, 'POST', '/api/plan/import', { format: 'markdown', content, file: 'remediation-plan.md' })
    assert.equal(imp.status, 200, JSON.stringify(imp.body))
    for (const id of ['agent-a', 'agent-b']) {
      assert.equal((await api(a.url, 'POST', '/api/agents', { id, role: 'backend' })).status, 201)
      assert.equal((await api(a.url, 'PUT', `/api/agents/${id}/heartbeat`, {})).status, 200)
    }
    const before = await getJson<Array<{ id: string }>>(a.url, '/api/tasks/available')
    const r = await verify('--expect-agents', '2', ...nodes.map(n => n.url))
    assert.equal(r.code, 0, r.lines.join('\n') + r.stderr)
    assert.match(line(r.lines, 4), /^ok {3}4 plan +28 tasks, 552 estimated hours, 5 epics/)
    assert.match(line(r.lines, 5), /^ok {3}5 agents +2 agents registered and healthy/)
    assert.match(line(r.lines, 6), new RegExp(`^ok {3}6 claim +claimed ${before[0]?.id ?? '?'} on ${a.url} as fleet-verify, confirmed on ${b.url}`))
    assert.match(line(r.lines, 7), /^ok {3}7 merge +merge queue reachable \(empty\); leader …\S+ \(term \d+\) on all 2 nodes/)
    assert.match(r.lines.at(-1) ?? '', /7 of 7 checks passed on 2 nodes/)
    const task = await getJson<{ status: string, assignee: string | null }>(b.url, `/api/tasks/${before[0]?.id ?? ''}`)
    assert.deepEqual([task.status, task.assignee], ['pending', null], 'the claimed task is back to pending')
    // Run again: still one verification agent, not one per run; the agents check ignores it.
    assert.equal((await verify('--only', 'agents,claim', ...nodes.map(n => n.url))).code, 0)
    const agents = await getJson<Array<{ id: string }>>(a.url, '/api/agents')
    assert.deepEqual(agents.map(x => x.id).sort(), ['agent-a', 'agent-b', 'fleet-verify'])
    const ro = await verify('--read-only', '--only', '6', ...nodes.map(n => n.url))
    assert.match(line(ro.lines, 6), /^ok {3}6 claim +read-only: \d+ tasks available to claim; nothing claimed/)
  })

  it('fails naming the check and the node when a node is down', async () => {
    const srv = createServer()
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
    const port = (srv.address() as { port: number }).port
    await new Promise<void>((resolve) => srv.close(() => resolve()))
    const dead = `http://127.0.0.1:${port}` // a port nothing listens on any more
    const r = await verify('--only', 'health,peers,heads', nodes[0]?.url ?? '', dead)
    assert.equal(r.code, 1)
    assert.match(line(r.lines, 1), new RegExp(`^FAIL 1 health +1 of 2 healthy; ${dead}: cannot reach fleet node at ${dead} \\(connection refused\\)`))
    assert.match(line(r.lines, 2), new RegExp(`^FAIL 2 peers +cannot check ${dead} \\(unreachable\\)`))
    assert.match(r.lines.at(-1) ?? '', /FAILED 1 health, 2 peers, 3 heads/)
  })

  it('rejects bad usage with exit code 2', async () => {
    for (const args of [[], ['--only', 'bogus', 'http://127.0.0.1:3000'], ['not a url'], ['--timeout', '-1', 'http://127.0.0.1:3000']]) {
      const r = await verify(...args)
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, /^verify-cluster: /)
    }
  })
})
