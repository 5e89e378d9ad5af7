import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { FailoverClient } from '../../../node/agents/failover-client.js'
import { HttpCoordinator } from '../../../node/agents/http-coordinator.js'
import { isFencedError } from '../../../node/agents/coordinator.js'

type Route = (body: unknown) => { status: number, body: unknown }

/** A fake node: `routes['METHOD /path']` answers; every request is logged. */
async function fakeNode (routes: Record<string, Route>): Promise<{ server: Server, url: string, log: string[] }> {
  const log: string[] = []
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = ''
    req.on('data', (c: Buffer) => { text += c.toString() })
    req.on('end', () => {
      const key = `${req.method ?? ''} ${req.url ?? ''}`
      log.push(key)
      const r = routes[key]?.(text === '' ? undefined : JSON.parse(text)) ?? { status: 404, body: { error: 'no route', details: null } }
      res.statusCode = r.status
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify(r.body))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, log }
}

const agent = { id: 'A', name: 'A', role: 'dev', capabilities: [] }

describe('HTTP coordinator', () => {
  const servers: Server[] = []
  const clients: FailoverClient[] = []
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close()
    for (const s of servers.splice(0)) {
      s.closeAllConnections()
      await new Promise<void>((resolve) => s.close(() => resolve()))
    }
  })
  const coordinator = (...urls: string[]): HttpCoordinator => {
    const client = new FailoverClient({ urls, timeoutMs: 2000, backoff: { baseMs: 10, maxMs: 20 } })
    clients.push(client)
    return new HttpCoordinator({ client, instance: 'test-instance-1' })
  }

  it('counts an end the cluster already recorded (a retry through another node) as done, and a lost assignment as fenced', async () => {
    const n = await fakeNode({
      'PUT /api/assignments/a1/complete': () => ({ status: 409, body: { error: 'assignment a1 is completed', details: { assignmentId: 'a1', state: 'completed' } } }),
      'GET /api/assignments/a1': () => ({ status: 200, body: { id: 'a1', taskId: 'T1', agentId: 'A', state: 'completed' } }),
      'PUT /api/assignments/a2/complete': () => ({ status: 409, body: { error: 'assignment a2 is lost', details: { assignmentId: 'a2', state: 'lost' } } }),
      'GET /api/assignments/a2': () => ({ status: 200, body: { id: 'a2', taskId: 'T2', agentId: 'A', state: 'lost' } })
    })
    servers.push(n.server)
    const c = coordinator(n.url)
    await c.complete('a1', 'done')
    await assert.rejects(c.complete('a2', 'done'), (err: unknown) => isFencedError(err))
  })

  it('does not claim twice when a claim\'s answer was lost: it adopts the claim the cluster holds', async () => {
    // The first node reads the claim and dies without answering.
    const dying = createServer((req) => { req.resume(); req.on('end', () => req.socket.destroy()) })
    await new Promise<void>((resolve) => dying.listen(0, '127.0.0.1', resolve))
    servers.push(dying)
    const n2 = await fakeNode({
      'GET /api/agents/A/assignments': () => ({ status: 200, body: [{ id: 'a9', taskId: 'T1', agentId: 'A', state: 'pending' }] }),
      'POST /api/assignments': () => ({ status: 202, body: { id: 'second-claim' } })
    })
    servers.push(n2.server)
    const c = coordinator(`http://127.0.0.1:${(dying.address() as AddressInfo).port}`, n2.url)
    const claim = await c.claim(agent, { id: 'T1', title: 't', description: '', acceptance: null, role: 'dev', attempt: 0, reason: null })
    assert.deepEqual(claim, { assignmentId: 'a9' })
    assert.deepEqual(n2.log, ['GET /api/agents/A/assignments'], 'no second claim was sent')
  })

  it('records evidence once: items the cluster already holds are not sent again', async () => {
    const sha = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex')
    const posted: unknown[] = []
    const n = await fakeNode({
      'GET /api/assignments/a1': () => ({ status: 200, body: { id: 'a1', taskId: 'T1', agentId: 'A', state: 'confirmed' } }),
      'GET /api/evidence/task/T1': () => ({ status: 200, body: [{ assignmentId: 'a1', kind: 'commit', sha256: sha('abc') }] }),
      'POST /api/evidence': (b) => { posted.push(b); return { status: 201, body: {} } }
    })
    servers.push(n.server)
    await coordinator(n.url).submitEvidence('a1', [{ kind: 'commit', content: 'abc' }, { kind: 'log', content: 'output' }])
    assert.deepEqual(posted, [{ taskId: 'T1', assignmentId: 'a1', kind: 'log', content: 'output' }])
  })
})
