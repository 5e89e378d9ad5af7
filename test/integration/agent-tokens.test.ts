import assert from 'node:assert/strict'
import { getJson } from '../helpers/http.js'
import { createClusterSecrets, killAll, removeDir, runCli, startNode, type ClusterSecrets, type StartedNode } from '../../scripts/lib/node-process.js'
import { waitFor } from '../../scripts/lib/wait.js'

const PLAN = '# Plan: tokens\nid: tokens\n\n## Epic E1: work (role: dev)\n\n- [T1] One (1h)\n- [T2] Two (1h)\n'

/** A request with a bearer token; the parsed body and status. */
async function call (n: StartedNode, token: string, method: string, path: string, body?: unknown): Promise<{ status: number, body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(n.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await res.text()
  return { status: res.status, body: text === '' ? null : JSON.parse(text) }
}

async function expectStatus (p: Promise<{ status: number, body: unknown }>, status: number, what: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = await p
  assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`)
  if (status >= 400) {
    const b = r.body as { error?: unknown, details?: unknown }
    assert.equal(typeof b.error, 'string', `${what}: {error, details}`)
    assert.ok('details' in b, `${what}: {error, details}`)
  }
  return r.body
}

describe('scoped agent tokens', function () {
  this.timeout(180_000)
  let secrets: ClusterSecrets | undefined
  const dirs: string[] = []
  after(async () => {
    await killAll()
    for (const d of dirs) removeDir(d)
    if (secrets !== undefined) removeDir(secrets.dir)
  })

  it('act only for their agent, leave the cluster token its full rights, and once revoked are refused on every node', async () => {
    secrets = await createClusterSecrets()
    const s = secrets
    const n1 = await startNode({ extraArgs: [...s.args, '--liveness', '3'] })
    const n2 = await startNode({ bootstrap: [n1.addr], extraArgs: [...s.args, '--liveness', '3'] })
    dirs.push(n1.dataDir, n2.dataDir)
    await waitFor(async () => (await getJson<{ peers: number }>(n1.url, '/health')).peers === 1, 'the nodes to connect')
    const issue = async (name: string): Promise<string> => {
      const r = await runCli(['key', 'agent-token', name, '--api-token-file', s.tokenFile])
      assert.equal(r.code, 0, r.stderr)
      return r.stdout.trim()
    }
    const [tokA, tokB] = [await issue('A'), await issue('B')]
    const bad = await runCli(['key', 'agent-token', 'A'], { FLEET_API_TOKEN_FILE: '' })
    assert.equal(bad.code, 2)

    // The cluster token keeps full rights; an agent token may not import a plan or make tasks.
    await expectStatus(call(n1, tokA, 'POST', '/api/plan/import', { content: PLAN, format: 'markdown' }), 403, 'plan import with an agent token')
    await expectStatus(call(n1, tokA, 'POST', '/api/tasks', { id: 'X1', title: 'sneaky' }), 403, 'task creation with an agent token')
    await expectStatus(call(n1, s.token, 'POST', '/api/plan/import', { content: PLAN, format: 'markdown' }), 200, 'plan import with the cluster token')

    await expectStatus(call(n1, tokA, 'POST', '/api/agents', { id: 'B', role: 'dev' }), 403, 'registering another agent')
    await expectStatus(call(n1, tokA, 'POST', '/api/agents', { id: 'A', role: 'dev' }), 201, 'registering its own agent')
    await expectStatus(call(n2, tokB, 'POST', '/api/agents', { id: 'B', role: 'dev' }), 201, 'B registers through n2')
    await expectStatus(call(n1, tokA, 'POST', '/api/assignments', { taskId: 'T2', agentId: 'B' }), 403, 'claiming for another agent')
    const a = await expectStatus(call(n1, tokA, 'POST', '/api/assignments', { taskId: 'T1', agentId: 'A' }), 202, 'claiming for itself')
    const b = await expectStatus(call(n2, tokB, 'POST', '/api/assignments', { taskId: 'T2', agentId: 'B' }), 202, 'B claims T2')
    for (const [n, id] of [[n1, a.id], [n2, b.id]] as const) {
      await waitFor(async () => (await getJson<{ state: string }>(n.url, `/api/assignments/${id as string}`)).state === 'confirmed', `claim ${id as string} confirmed`)
    }
    await waitFor(async () => (await getJson<{ agentId: string } | null>(n1.url, `/api/assignments/${b.id as string}`).catch(() => null)) !== null, 'n1 to know B\'s claim')

    // Another agent's heartbeat, lease, progress, evidence, merge entry and release: 403.
    await expectStatus(call(n1, tokA, 'PUT', '/api/agents/B/heartbeat', {}), 403, 'heartbeat of another agent')
    await expectStatus(call(n1, tokA, 'PUT', '/api/agents/A/heartbeat', { assignmentId: b.id }), 403, 'renewing another agent\'s lease')
    await expectStatus(call(n1, tokA, 'PUT', `/api/assignments/${b.id as string}/progress`, { percent: 50 }), 403, 'progress on another agent\'s assignment')
    await expectStatus(call(n1, tokA, 'POST', '/api/evidence', { taskId: 'T2', assignmentId: b.id, kind: 'log', content: 'forged' }), 403, 'evidence for another agent\'s assignment')
    await expectStatus(call(n1, tokA, 'POST', '/api/git/merge-queue', { taskId: 'T2', assignmentId: b.id, branch: 'fleet/T2' }), 403, 'merge entry for another agent\'s assignment')
    await expectStatus(call(n1, tokA, 'PUT', `/api/assignments/${b.id as string}/release`), 403, 'releasing another agent\'s assignment')
    // Its own work goes through.
    await expectStatus(call(n1, tokA, 'PUT', '/api/agents/A/heartbeat', { assignmentId: a.id }), 200, 'its own heartbeat')
    await expectStatus(call(n1, tokA, 'PUT', `/api/assignments/${a.id as string}/progress`, { percent: 50 }), 200, 'its own progress')
    await expectStatus(call(n1, tokA, 'POST', '/api/evidence', { taskId: 'T1', assignmentId: a.id, kind: 'log', content: 'ok' }), 201, 'its own evidence')
    await expectStatus(call(n1, tokA, 'POST', '/api/git/merge-queue', { taskId: 'T1', assignmentId: a.id, branch: 'fleet/T1' }), 201, 'its own merge entry')

    // A forged signature is refused; revoking needs the cluster token.
    await expectStatus(call(n1, tokA.slice(0, -4) + 'AAAA', 'PUT', '/api/agents/A/heartbeat', {}), 401, 'a forged agent token')
    await expectStatus(call(n1, tokA, 'POST', '/api/agents/A/revoke-tokens'), 403, 'an agent revoking tokens')
    await expectStatus(call(n2, s.token, 'POST', '/api/agents/A/revoke-tokens'), 200, 'revoking A\'s tokens through n2')
    for (const n of [n1, n2]) {
      await waitFor(async () => (await call(n, tokA, 'PUT', '/api/agents/A/heartbeat', {})).status === 401, `the revoked token to be refused on ${n.url}`)
      const r = await expectStatus(call(n, tokA, 'PUT', `/api/assignments/${a.id as string}/complete`, { summary: 'x' }), 401, 'completion with a revoked token')
      assert.match(r.error, /revoked/)
    }
    // B's token is untouched; a token issued after the revocation works.
    await expectStatus(call(n1, tokB, 'PUT', '/api/agents/B/heartbeat', { assignmentId: b.id }), 200, 'B\'s token still works')
    await expectStatus(call(n1, await issue('A'), 'PUT', '/api/agents/A/heartbeat', { assignmentId: a.id }), 200, 'a new token for A')
  })
})
